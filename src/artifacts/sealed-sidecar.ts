import type { Keyring } from '../security/secrets/keyring.js';
import { DATA_KEY_BYTES, integrity, MAX_CHUNK_SIZE } from './sealed-stream.js';

/*
 * The sidecar of a sealed object (format 1): the parameters of its sealed stream
 * (sealed-stream.ts) and its wrapped data key, stored beside the sealed bytes as one line of
 * JSON followed by "\n", with the fields in this order:
 *
 *   {"format":1,"cipher":"aes-256-gcm-chunked","prefix":"<16 hex>","chunkSize":<int>,
 *    "size":<int>,"key":"v<version>:<base64>"}
 *
 * `key` is the 32-byte data key wrapped by the keyring (src/security/secrets/keyring.ts) under its
 * current key-encryption key (KEK) at the time of writing: "v" ‖ version ‖ ":" ‖
 * base64(nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ 16-byte tag), with associated data
 * "falaj-artifact|<digest>|<prefix>|<chunkSize>|<size>|v<version>". Binding the digest and the
 * parameters makes any edit of the sidecar, or a sidecar moved to another object, fail to
 * unwrap. Key rotation replaces `key` alone (same data key, newer KEK); the sealed bytes are
 * never rewritten. A key version missing from the keyring is FALAJ_KEY_UNAVAILABLE; every
 * other fault in a sidecar is FALAJ_ARTIFACT_INTEGRITY.
 */
export interface ArtifactSidecar {
  format: 1;
  cipher: 'aes-256-gcm-chunked';
  chunkSize: number;
  /** Hex of the 8-byte per-object nonce prefix. */
  prefix: string;
  /** Plaintext bytes. */
  size: number;
  /** The data key, wrapped by the keyring (`v<version>:...`). */
  key: string;
}

type SealParams = Pick<ArtifactSidecar, 'prefix' | 'chunkSize' | 'size'>;

function keyContext(digest: string, s: SealParams): string {
  return `falaj-artifact|${digest}|${s.prefix}|${s.chunkSize}|${s.size}`;
}

/** The sidecar of a newly sealed object, its data key wrapped under the keyring's current version. */
export function newSidecar(
  keyring: Keyring,
  digest: string,
  secrets: { key: Buffer; prefix: Buffer },
  chunkSize: number,
  size: number,
): ArtifactSidecar {
  const params = { prefix: secrets.prefix.toString('hex'), chunkSize, size };
  return {
    format: 1,
    cipher: 'aes-256-gcm-chunked',
    ...params,
    key: keyring.wrap(secrets.key, keyContext(digest, params)),
  };
}

/** The stored form: one line of JSON and a newline. */
export function serializeSidecar(sidecar: ArtifactSidecar): string {
  return `${JSON.stringify(sidecar)}\n`;
}

export function parseSidecar(digest: string, raw: string): ArtifactSidecar {
  let s: Partial<ArtifactSidecar>;
  try {
    s = JSON.parse(raw) as Partial<ArtifactSidecar>;
  } catch {
    throw integrity(`artifact ${digest}: key file is not valid JSON`);
  }
  const ok =
    s !== null &&
    typeof s === 'object' &&
    s.format === 1 &&
    s.cipher === 'aes-256-gcm-chunked' &&
    Number.isInteger(s.chunkSize) &&
    (s.chunkSize as number) >= 1 &&
    (s.chunkSize as number) <= MAX_CHUNK_SIZE &&
    typeof s.prefix === 'string' &&
    /^[0-9a-f]{16}$/.test(s.prefix) &&
    Number.isSafeInteger(s.size) &&
    (s.size as number) >= 0 &&
    typeof s.key === 'string';
  if (!ok) throw integrity(`artifact ${digest}: key file is malformed`);
  return s as ArtifactSidecar;
}

/** The object's data key (FALAJ_ARTIFACT_INTEGRITY if the sidecar was altered). */
export function unwrapDataKey(keyring: Keyring, digest: string, sidecar: ArtifactSidecar): Buffer {
  const key = keyring.unwrap(sidecar.key, keyContext(digest, sidecar));
  if (key.length !== DATA_KEY_BYTES) throw integrity(`artifact ${digest}: data key has the wrong length`);
  return key;
}

/** `sidecar.key` re-wrapped under the keyring's current version (the same string if already current). */
export function rewrapDataKey(keyring: Keyring, digest: string, sidecar: ArtifactSidecar): string {
  return keyring.rewrap(sidecar.key, keyContext(digest, sidecar));
}
