// Opaque page tokens: base64url of {"v":1,"o":<offset>,"f":<fingerprint>}. The fingerprint is a
// digest of everything that decides the result set and its order, so that a token handed back
// with another filter, order, view or set of experiments is refused rather than misread.
import { createHash } from 'node:crypto';
import { FalajError } from '../../core/errors.js';

const VERSION = 1;

export function fingerprint(query: unknown): string {
  // Numbers as strings: JSON would write both Infinity and -Infinity as null.
  const json = JSON.stringify(query, (_k, v: unknown) => (typeof v === 'number' ? String(v) : v));
  return createHash('sha256').update(json).digest('base64url').slice(0, 22);
}

export function encodePageToken(offset: number, print: string): string {
  return Buffer.from(JSON.stringify({ v: VERSION, o: offset, f: print })).toString('base64url');
}

function invalid(why: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `invalid page token: ${why}`);
}

/** The offset a token points at; throws FALAJ_INVALID_ARGUMENT for a malformed or foreign token. */
export function decodePageToken(token: string, print: string): number {
  if (token.length > 512 || !/^[A-Za-z0-9_-]+={0,2}$/.test(token)) throw invalid('not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a token issued by this server');
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('not a token issued by this server');
  const { v, o, f } = parsed as { v?: unknown; o?: unknown; f?: unknown };
  if (v !== VERSION || typeof f !== 'string' || typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)
    throw invalid('not a token issued by this server');
  if (f !== print)
    throw invalid('it was issued for another query (filter, order_by, view type or experiments changed)');
  return o;
}
