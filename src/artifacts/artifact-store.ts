import type { Readable } from 'node:stream';
import { FalajError } from '../core/errors.js';

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

/** A blob's address: the SHA-256 of its plaintext, 64 lowercase hex characters. */
export const ARTIFACT_DIGEST = /^[0-9a-f]{64}$/;

/** `digest` if well formed; otherwise FALAJ_INVALID_ARGUMENT (every backend checks before use). */
export function validateDigest(digest: unknown): string {
  if (typeof digest !== 'string' || !ARTIFACT_DIGEST.test(digest)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'an artifact digest is 64 lowercase hex characters', {
      digest: String(digest).slice(0, 100),
    });
  }
  return digest;
}

/** What get() of an absent blob rejects with, in every backend. */
export function blobNotFound(digest: string): FalajError {
  return new FalajError('FALAJ_NOT_FOUND', `artifact blob ${digest} does not exist`, { digest });
}
