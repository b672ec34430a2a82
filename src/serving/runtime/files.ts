// Checking a model version's downloaded files against their recorded SHA-256 digests before
// anything in them is parsed: a damaged or altered download never reaches a parser.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FalajError } from '../../core/errors.js';

export interface ModelFileDigest {
  /** The file's name (a relative path) inside the model directory. */
  readonly name: string;
  /** Its expected SHA-256, hex. */
  readonly digest: string;
}

function checksumError(message: string, details: Record<string, unknown>): FalajError {
  return new FalajError('FALAJ_MODEL_CHECKSUM', message, details);
}

/** The absolute path of `name` inside `dir`; a name that leaves the directory is refused. */
function inside(dir: string, name: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, name);
  if (name === '' || path.isAbsolute(name) || !full.startsWith(root + path.sep))
    throw checksumError(`model file name '${name}' is not a path inside the model directory`, { file: name });
  return full;
}

/**
 * Hashes every listed file and compares it with its digest. Returns the bytes read, by name, so
 * that a runtime can parse exactly the bytes that were checked. Any mismatch, unreadable file or
 * duplicate name is FALAJ_MODEL_CHECKSUM; nothing is returned then.
 */
export async function verifyFiles(
  dir: string,
  files: readonly ModelFileDigest[],
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of files) {
    const key = path.normalize(f.name);
    if (out.has(key)) throw checksumError(`model file '${f.name}' is listed twice`, { file: f.name });
    const full = inside(dir, f.name);
    const expected = f.digest.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(expected))
      throw checksumError(`the digest of model file '${f.name}' is not a SHA-256 hex digest`, {
        file: f.name,
      });
    let bytes: Buffer;
    try {
      bytes = await readFile(full);
    } catch (err) {
      throw checksumError(`model file '${f.name}' cannot be read (${(err as Error).message})`, {
        file: f.name,
      });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected)
      throw checksumError(
        `model file '${f.name}' does not match its recorded SHA-256 (damaged or altered download): expected ${expected}, got ${actual}`,
        { file: f.name, expected, actual },
      );
    out.set(key, bytes);
  }
  return out;
}

/** The checked bytes of `name`; a file the runtime needs but that had no digest is refused. */
export function checkedFile(checked: Map<string, Buffer>, name: string): Buffer {
  const bytes = checked.get(path.normalize(name));
  if (!bytes)
    throw checksumError(`model file '${name}' has no recorded digest: the runtime loads only checked files`, {
      file: name,
    });
  return bytes;
}
