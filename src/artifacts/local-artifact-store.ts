import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipelineCb, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FalajError } from '../core/errors.js';
import { Keyring } from '../security/secrets/keyring.js';
import {
  ARTIFACT_DIGEST,
  type ArtifactStore,
  blobNotFound,
  type PutResult,
  validateDigest,
} from './artifact-store.js';
import { DurableFile, fsyncDir, writeFileSynced } from './durable-file.js';
import {
  type ArtifactSidecar,
  newSidecar,
  parseSidecar,
  rewrapDataKey,
  serializeSidecar,
  unwrapDataKey,
} from './sealed-sidecar.js';
import {
  ARTIFACT_CHUNK_SIZE,
  ChunkOpener,
  ChunkSealer,
  IO_BUFFER,
  integrity,
  newObjectSecrets,
  sealedLength,
} from './sealed-stream.js';
import { abandoned, errnoCode, tmpName } from './tmp-debris.js';

/*
 * The local-folder artifact store. Objects are sealed as sealed-stream.ts specifies, with the
 * sidecar of sealed-sidecar.ts; this file is about where they live and how they get there.
 *
 *   <root>/blobs/<d0d1>/<digest>/data      the sealed stream, nothing else
 *   <root>/blobs/<d0d1>/<digest>/key.json  the sidecar
 *   <root>/tmp/                            uploads in progress and blobs being deleted
 *
 * Rotation rewrites key.json alone (tmp + rename); `data` is never rewritten.
 *
 * An upload is written into its own folder under tmp/ and the folder is renamed into blobs/
 * only when data and key.json are complete and fsynced: a crash leaves only tmp/ debris, which
 * the next start removes. Renaming a folder onto an existing one fails, so concurrent uploads of
 * the same content cannot pair one upload's data with another's key.
 */

export interface RewrapReport {
  rewrapped: number;
  total: number;
  /** Digests whose sidecar could not be re-wrapped (damaged, or a missing key version). */
  failed: { digest: string; code: string; message: string }[];
}

/** The local-folder artifact store: content-addressed, chunked AES-256-GCM at rest, streamed. */
export class LocalArtifactStore implements ArtifactStore {
  readonly capabilities = { kind: 'local' as const };
  readonly chunkSize: number;
  private readonly blobsDir: string;
  private readonly tmpDir: string;

  constructor(
    readonly root: string,
    readonly keyring: Keyring,
    opts: { chunkSize?: number } = {},
  ) {
    this.chunkSize = opts.chunkSize ?? ARTIFACT_CHUNK_SIZE;
    this.blobsDir = path.join(root, 'blobs');
    this.tmpDir = path.join(root, 'tmp');
    mkdirSync(this.blobsDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    this.removeAbandonedTmp();
  }

  /**
   * Removes what uploads and deletions cut short by a crash left in tmp/ (run at construction,
   * i.e. at every start). Entries of live processes on this host are kept: an offline admin
   * tool opening the store while a server runs must not break the server's uploads.
   */
  removeAbandonedTmp(): number {
    let removed = 0;
    for (const name of readdirSync(this.tmpDir)) {
      const full = path.join(this.tmpDir, name);
      let mtimeMs = 0;
      try {
        mtimeMs = statSync(full).mtimeMs;
      } catch {
        continue;
      }
      if (!abandoned(name, mtimeMs)) continue;
      rmSync(full, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Where an object lives (for tests and tools; the layout is described at the top of this file). */
  objectPaths(digest: string): { dir: string; data: string; sidecar: string } {
    validateDigest(digest);
    const dir = path.join(this.blobsDir, digest.slice(0, 2), digest);
    return { dir, data: path.join(dir, 'data'), sidecar: path.join(dir, 'key.json') };
  }

  async put(source: Readable, opts: { maxBytes?: number } = {}): Promise<PutResult> {
    const work = path.join(this.tmpDir, tmpName('u'));
    await fs.mkdir(work, { mode: 0o700 });
    try {
      const secrets = newObjectSecrets();
      const sealer = new ChunkSealer(secrets.key, secrets.prefix, this.chunkSize, opts.maxBytes);
      await pipeline(source, sealer, new DurableFile(path.join(work, 'data')));
      const digest = await sealer.hash.digest();
      const size = sealer.size;
      const sidecar = newSidecar(this.keyring, digest, secrets, this.chunkSize, size);
      await writeFileSynced(path.join(work, 'key.json'), serializeSidecar(sidecar));
      await fsyncDir(work);

      const { dir } = this.objectPaths(digest);
      const shard = path.dirname(dir);
      await fs.mkdir(shard, { recursive: true, mode: 0o700 });
      try {
        await fs.rename(work, dir);
      } catch (err) {
        // Already stored (by an earlier or a concurrent upload): the existing copy stands.
        const code = errnoCode(err);
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        await fs.rm(work, { recursive: true, force: true });
        return { digest, size };
      }
      await fsyncDir(shard);
      return { digest, size };
    } catch (err) {
      await fs.rm(work, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  private async readSidecar(digest: string): Promise<ArtifactSidecar> {
    const { sidecar } = this.objectPaths(digest);
    let raw: string;
    try {
      raw = await fs.readFile(sidecar, 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      throw blobNotFound(digest);
    }
    return parseSidecar(digest, raw);
  }

  async get(digest: string): Promise<Readable> {
    const paths = this.objectPaths(digest);
    const sidecar = await this.readSidecar(digest);
    const key = unwrapDataKey(this.keyring, digest, sidecar);
    let fh: FileHandle;
    try {
      fh = await fs.open(paths.data, 'r');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      throw integrity(`artifact ${digest}: data file is missing`);
    }
    try {
      // A wrong length is refused before a byte is sent (the chunk marks would catch it later).
      const { size } = await fh.stat();
      const expected = sealedLength(sidecar.size, sidecar.chunkSize);
      if (size !== expected) {
        throw integrity(`artifact ${digest}: data file has ${size} bytes, expected ${expected}`, {
          digest,
        });
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    const opener = new ChunkOpener(
      key,
      Buffer.from(sidecar.prefix, 'hex'),
      sidecar.chunkSize,
      digest,
      sidecar.size,
    );
    // Errors travel to the opener (what the caller holds); closing it early closes the file.
    pipelineCb(fh.createReadStream({ highWaterMark: IO_BUFFER }), opener, () => {});
    // Resolved only once the first chunk has authenticated (a small artifact: all of it, hash
    // included), so that damage there is an error before a response starts, not a cut-off body.
    await opener.firstChunk;
    return opener;
  }

  async has(digest: string): Promise<boolean> {
    const { data, sidecar } = this.objectPaths(digest);
    try {
      await fs.access(data);
      await fs.access(sidecar);
      return true;
    } catch {
      return false;
    }
  }

  async delete(digest: string): Promise<void> {
    const { dir } = this.objectPaths(digest);
    const trash = path.join(this.tmpDir, tmpName('d'));
    try {
      // Renamed away first: the object disappears at once, whole, even if the removal is cut short.
      await fs.rename(dir, trash);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    await fsyncDir(path.dirname(dir)).catch(() => {});
    await fs.rm(trash, { recursive: true, force: true });
  }

  /** Every stored digest (walks the folder). */
  async *digests(): AsyncGenerator<string> {
    for (const shard of (await fs.readdir(this.blobsDir)).sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      let names: string[];
      try {
        names = await fs.readdir(path.join(this.blobsDir, shard));
      } catch {
        continue;
      }
      for (const name of names.sort()) if (ARTIFACT_DIGEST.test(name) && name.startsWith(shard)) yield name;
    }
  }

  /** How many sidecars each key-encryption key version wraps (for `falaj keys list`). */
  async keyVersionCounts(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for await (const digest of this.digests()) {
      try {
        const v = Keyring.versionOf((await this.readSidecar(digest)).key);
        counts.set(v, (counts.get(v) ?? 0) + 1);
      } catch {
        // a damaged or vanished sidecar is reported by rewrapKeys, not counted here
      }
    }
    return counts;
  }

  async rewrapKeys(): Promise<RewrapReport> {
    const report: RewrapReport = { rewrapped: 0, total: 0, failed: [] };
    for await (const digest of this.digests()) {
      const { dir, sidecar: file } = this.objectPaths(digest);
      this.removeAbandonedSidecarTmp(dir);
      let sidecar: ArtifactSidecar;
      try {
        sidecar = await this.readSidecar(digest);
      } catch (err) {
        if (err instanceof FalajError && err.code === 'FALAJ_NOT_FOUND') continue; // deleted meanwhile
        report.total++;
        report.failed.push(failure(digest, err));
        continue;
      }
      report.total++;
      let key: string;
      try {
        key = rewrapDataKey(this.keyring, digest, sidecar);
      } catch (err) {
        report.failed.push(failure(digest, err));
        continue;
      }
      if (key === sidecar.key) continue;
      const tmp = path.join(dir, `key.json.${tmpName('k')}`);
      try {
        await writeFileSynced(tmp, serializeSidecar({ ...sidecar, key }));
        await fs.rename(tmp, file);
        await fsyncDir(dir);
        report.rewrapped++;
      } catch (err) {
        await fs.rm(tmp, { force: true }).catch(() => {});
        if (errnoCode(err) === 'ENOENT') {
          report.total--; // the object was deleted while we worked on it
          continue;
        }
        report.failed.push(failure(digest, err));
      }
    }
    return report;
  }

  private removeAbandonedSidecarTmp(dir: string): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith('key.json.')) continue;
      const full = path.join(dir, name);
      let mtimeMs = 0;
      try {
        mtimeMs = statSync(full).mtimeMs;
      } catch {
        continue;
      }
      if (abandoned(name.slice('key.json.'.length), mtimeMs)) rmSync(full, { force: true });
    }
  }
}

function failure(digest: string, err: unknown): RewrapReport['failed'][number] {
  return {
    digest,
    code: err instanceof FalajError ? err.code : (errnoCode(err) ?? 'FALAJ_INTERNAL'),
    message: err instanceof Error ? err.message : String(err),
  };
}
