import { FalajError } from '../core/errors.js';

/** Longest logical artifact path, in UTF-8 bytes (a generous bound for nested run outputs). */
export const MAX_ARTIFACT_PATH_BYTES = 1024;
/** Longest single segment, in UTF-8 bytes (what most file systems accept for one name). */
export const MAX_ARTIFACT_SEGMENT_BYTES = 255;

// C0 controls and DEL: NUL is the classic truncation attack; the rest have no place in a name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const DRIVE = /^[A-Za-z]:/;

function invalid(path: string, why: string): FalajError {
  // The offending value is echoed JSON-escaped in details, never raw into a message (it may hold NUL).
  return new FalajError('FALAJ_INVALID_PATH', `invalid artifact path: ${why}`, { path, reason: why });
}

function checkCommon(path: string): void {
  if (path.includes('\u0000')) throw invalid(path, 'contains a NUL byte');
  if (CONTROL.test(path)) throw invalid(path, 'contains a control character');
  if (path.includes('\\')) throw invalid(path, 'contains a backslash (use / between segments)');
  if (path.startsWith('/')) throw invalid(path, 'is absolute (starts with /)');
  if (DRIVE.test(path)) throw invalid(path, 'is absolute (starts with a drive letter)');
  if (Buffer.byteLength(path, 'utf8') > MAX_ARTIFACT_PATH_BYTES) {
    throw invalid(path, `is longer than ${MAX_ARTIFACT_PATH_BYTES} bytes`);
  }
}

function checkSegments(path: string, segments: string[]): void {
  for (const segment of segments) {
    if (segment === '') throw invalid(path, 'has an empty segment (// or a leading or trailing /)');
    if (segment === '.' || segment === '..') throw invalid(path, `has a '${segment}' segment`);
    if (Buffer.byteLength(segment, 'utf8') > MAX_ARTIFACT_SEGMENT_BYTES) {
      throw invalid(path, `has a segment longer than ${MAX_ARTIFACT_SEGMENT_BYTES} bytes`);
    }
  }
}

/**
 * Checks a logical artifact path (`models/v1/model.onnx`): relative, `/`-separated, with no
 * empty, `.` or `..` segment, no NUL or other control character, no backslash, and bounded in
 * length. These paths are keys in the metadata store, never file-system paths, but they are
 * refused anyway: a client that later materialises them on disk must not be led outside its
 * folder. Returns the path unchanged; throws FALAJ_INVALID_PATH.
 */
export function validateArtifactPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw invalid(String(path ?? ''), 'is empty');
  checkCommon(path);
  checkSegments(path, path.split('/'));
  return path;
}

/**
 * Checks a listing prefix: the empty string, or a path that may end with `/` (`models/`) or in
 * the middle of a segment (`models/v`). The same refusals as for a path apply to what is there.
 */
export function validateArtifactPrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return '';
  if (typeof prefix !== 'string') throw invalid(String(prefix), 'is not a string');
  checkCommon(prefix);
  const segments = prefix.split('/');
  // What follows the last '/' may be the start of a name ('.hid' of '.hidden'): only its length counts.
  const partial = segments.pop() ?? '';
  checkSegments(prefix, segments);
  if (Buffer.byteLength(partial, 'utf8') > MAX_ARTIFACT_SEGMENT_BYTES) {
    throw invalid(prefix, `has a segment longer than ${MAX_ARTIFACT_SEGMENT_BYTES} bytes`);
  }
  return prefix;
}
