import { invalid } from './validation.js';

/** An opaque page token: base64url of a small JSON object. Anything else is refused. */
export function encodePageToken(state: Record<string, number | string>): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodePageToken(token: unknown): Record<string, unknown> | undefined {
  if (token === undefined || token === null || token === '') return undefined;
  const t = Array.isArray(token) ? token[0] : token;
  if (typeof t !== 'string' || t.length > 1000) throw invalid('Invalid page token');
  try {
    const parsed: unknown = JSON.parse(Buffer.from(t, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // falls through
  }
  throw invalid(`Invalid page token, could not base64-decode: '${t.slice(0, 60)}'`);
}

/** The non-negative integer `offset` of a decoded token. */
export function offsetOf(state: Record<string, unknown> | undefined): number {
  if (!state) return 0;
  const o = state.offset;
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) throw invalid('Invalid page token');
  return o;
}
