import type { Readable } from 'node:stream';
import { FalajError } from '../core/errors.js';
import type { ArtifactStore, PutResult } from './artifact-store.js';
import type { Keyring } from './keyring.js';

// Placeholder until the encrypted local store lands.
export class LocalArtifactStore implements ArtifactStore {
  readonly capabilities = { kind: 'local' as const };
  constructor(
    readonly root: string,
    readonly keyring: Keyring,
  ) {}
  async put(_source: Readable): Promise<PutResult> {
    throw new FalajError('FALAJ_INTERNAL', 'not yet');
  }
  async get(_digest: string): Promise<Readable> {
    throw new FalajError('FALAJ_INTERNAL', 'not yet');
  }
  async has(_digest: string): Promise<boolean> {
    return false;
  }
  async delete(_digest: string): Promise<void> {}
  async rewrapKeys(): Promise<{ rewrapped: number; total: number }> {
    return { rewrapped: 0, total: 0 };
  }
}
