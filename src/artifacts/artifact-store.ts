import type { Readable } from 'node:stream';

/** What differs between artifact backends, as data rather than methods that throw. */
export interface ArtifactStoreCapabilities {
  readonly kind: 'local' | 's3';
}

export interface PutResult {
  /** SHA-256 of the plaintext, hex: the blob's address. */
  digest: string;
  size: number;
}

/**
 * Content-addressed, encrypted blob storage. Implementations stream (never hold a whole blob
 * in memory), encrypt at rest, and verify on read: altered bytes give FALAJ_ARTIFACT_INTEGRITY,
 * never wrong data. A blob becomes visible only once completely written.
 */
export interface ArtifactStore {
  readonly capabilities: ArtifactStoreCapabilities;
  /** Streams `source` in; rejects with FALAJ_PAYLOAD_TOO_LARGE past `maxBytes`, leaving nothing behind. */
  put(source: Readable, opts?: { maxBytes?: number }): Promise<PutResult>;
  /** A stream of the plaintext; it errors (FALAJ_ARTIFACT_INTEGRITY) on tampered data. */
  get(digest: string): Promise<Readable>;
  has(digest: string): Promise<boolean>;
  delete(digest: string): Promise<void>;
  /** Re-wraps every data key under the keyring's current version without rewriting data. */
  rewrapKeys(): Promise<{ rewrapped: number; total: number }>;
}
