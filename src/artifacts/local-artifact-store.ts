import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fsCb, { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  pipeline as pipelineCb,
  type Readable,
  Transform,
  type TransformCallback,
  Writable,
} from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FalajError } from '../core/errors.js';
import { Keyring } from '../security/keyring.js';
import type { ArtifactStore, PutResult } from './artifact-store.js';
import { type StreamHash, streamHash } from './offload-hash.js';

/*
 * On-disk format (format 1).
 *
 *   <root>/blobs/<d0d1>/<digest>/data      the sealed chunks, nothing else
 *   <root>/blobs/<d0d1>/<digest>/key.json  the sidecar: {format, cipher, chunkSize, prefix, size, key}
 *   <root>/tmp/                            uploads in progress and blobs being deleted
 *
 * `digest` is the SHA-256 of the plaintext (hex). The plaintext is cut into chunks of
 * `chunkSize` bytes (64 KiB; the last one shorter, possibly empty: every object has at least
 * one chunk). Chunk i is sealed with AES-256-GCM under a random per-object 256-bit data key,
 * nonce = prefix (8 random bytes per object) ‖ uint32be(i), associated data =
 * "falaj-artifact-v1" ‖ prefix ‖ (0x01 for the last chunk, else 0x00), and stored as
 * ciphertext ‖ 16-byte tag. Reordered chunks fail on the counter, a dropped tail on the
 * last-chunk mark, chunks of another object on the key and prefix.
 *
 * The data key is wrapped by the keyring's current key-encryption key, bound to
 * "falaj-artifact|digest|prefix|chunkSize|size", so any edit of the sidecar fails to unwrap.
 * Rotation rewrites key.json alone (tmp + rename); `data` is never rewritten.
 *
 * An upload is written into its own folder under tmp/ and the folder is renamed into blobs/
 * only when data and key.json are complete and fsynced: a crash leaves only tmp/ debris, which
 * the next start removes. Renaming a folder onto an existing one fails, so concurrent uploads of
 * the same content cannot pair one upload's data with another's key.
 */

export const ARTIFACT_CHUNK_SIZE = 64 * 1024;
const TAG = 16;
const PREFIX = 8;
const DATA_KEY = 32;
const MAX_CHUNKS = 2 ** 32;
const AAD_LABEL = Buffer.from('falaj-artifact-v1');
const DIGEST = /^[0-9a-f]{64}$/;
const IO_BUFFER = 1024 * 1024;
/** Debris from another host (a shared data dir) is removed only once surely abandoned. */
const FOREIGN_TMP_MAX_AGE_MS = 24 * 3600_000;
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

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

export interface RewrapReport {
  rewrapped: number;
  total: number;
  /** Digests whose sidecar could not be re-wrapped (damaged, or a missing key version). */
  failed: { digest: string; code: string; message: string }[];
}

const integrity = (message: string, details?: unknown) =>
  new FalajError('FALAJ_ARTIFACT_INTEGRITY', message, details);

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export function validateDigest(digest: unknown): string {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'an artifact digest is 64 lowercase hex characters', {
      digest: String(digest).slice(0, 100),
    });
  }
  return digest;
}

function keyContext(digest: string, s: Pick<ArtifactSidecar, 'prefix' | 'chunkSize' | 'size'>): string {
  return `falaj-artifact|${digest}|${s.prefix}|${s.chunkSize}|${s.size}`;
}

function chunkAad(prefix: Buffer, last: boolean): Buffer {
  return Buffer.concat([AAD_LABEL, prefix, Buffer.from([last ? 1 : 0])]);
}

function chunkNonce(prefix: Buffer, counter: number): Buffer {
  const nonce = Buffer.allocUnsafe(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, PREFIX);
  return nonce;
}

/** Sealed length of `size` plaintext bytes: every chunk gains a tag, and there is always one chunk. */
export function sealedLength(size: number, chunkSize: number): number {
  return size + Math.max(1, Math.ceil(size / chunkSize)) * TAG;
}

/**
 * Cuts a byte stream into blocks of a fixed size, always holding the latest block back (even a
 * full one): only the end of the stream can tell which block is the last, and the last block
 * is sealed and opened differently. Blocks handed to `onBlock` may be reused afterwards.
 */
export class BlockSplitter {
  private readonly pending: Buffer;
  private filled = 0;

  constructor(readonly size: number) {
    this.pending = Buffer.allocUnsafe(size);
  }

  feed(chunk: Buffer, onBlock: (block: Buffer) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.filled === this.size) {
        onBlock(this.pending);
        this.filled = 0;
      }
      const left = chunk.length - off;
      // More than a whole block left in this piece: use it in place, it cannot be the last.
      if (this.filled === 0 && left > this.size) {
        onBlock(chunk.subarray(off, off + this.size));
        off += this.size;
        continue;
      }
      const n = Math.min(this.size - this.filled, left);
      chunk.copy(this.pending, this.filled, off, off + n);
      this.filled += n;
      off += n;
    }
  }

  /** The block held back: the last one, once the input has ended. */
  rest(): Buffer {
    return this.pending.subarray(0, this.filled);
  }
}

/**
 * Plaintext in, sealed chunks out; hashes and counts the plaintext on the way. A full chunk is
 * held back until more input shows it is not the last one.
 */
export class ChunkSealer extends Transform {
  readonly hash: StreamHash = streamHash();
  size = 0;
  private counter = 0;
  private readonly blocks: BlockSplitter;
  private readonly aadMore: Buffer;
  private readonly aadLast: Buffer;

  constructor(
    private readonly key: Buffer,
    private readonly prefix: Buffer,
    chunkSize: number,
    private readonly maxBytes: number | undefined,
  ) {
    super({ readableHighWaterMark: IO_BUFFER, writableHighWaterMark: IO_BUFFER });
    this.blocks = new BlockSplitter(chunkSize);
    this.aadMore = chunkAad(prefix, false);
    this.aadLast = chunkAad(prefix, true);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk as Uint8Array);
    this.size += chunk.length;
    if (this.maxBytes !== undefined && this.size > this.maxBytes) {
      cb(
        new FalajError('FALAJ_PAYLOAD_TOO_LARGE', `artifact exceeds the limit of ${this.maxBytes} bytes`, {
          maxBytes: this.maxBytes,
        }),
      );
      return;
    }
    this.hash.update(chunk);
    try {
      this.blocks.feed(chunk, (block) => this.seal(block, false));
    } catch (err) {
      cb(err as Error);
      return;
    }
    const wait = this.hash.ready();
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.seal(this.blocks.rest(), true);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (err) this.hash.abort();
    cb(err);
  }

  private seal(plain: Buffer, last: boolean): void {
    if (this.counter >= MAX_CHUNKS)
      throw new FalajError('FALAJ_PAYLOAD_TOO_LARGE', 'artifact has too many chunks');
    const c = createCipheriv('aes-256-gcm', this.key, chunkNonce(this.prefix, this.counter), {
      authTagLength: TAG,
    });
    c.setAAD(last ? this.aadLast : this.aadMore);
    const body = c.update(plain);
    c.final();
    this.push(body);
    this.push(c.getAuthTag());
    this.counter++;
  }
}

/**
 * Sealed chunks in, plaintext out. Each chunk's tag is checked before its plaintext is emitted;
 * the last chunk must carry the last-chunk mark, and its plaintext is held back until the
 * whole content hash and size match, so a consumer that counts bytes never sees a complete
 * response for altered data.
 */
export class ChunkOpener extends Transform {
  /** Settles when the first plaintext is ready (authenticated) or the stream fails before it. */
  readonly firstChunk: Promise<void>;
  private settleFirst: ((err?: Error) => void) | null = null;
  private readonly hash: StreamHash = streamHash();
  private size = 0;
  private counter = 0;
  private readonly blocks: BlockSplitter;
  private readonly aadMore: Buffer;
  private readonly aadLast: Buffer;

  constructor(
    private readonly key: Buffer,
    private readonly prefix: Buffer,
    chunkSize: number,
    private readonly digest: string,
    private readonly expectedSize: number,
  ) {
    super({ readableHighWaterMark: IO_BUFFER, writableHighWaterMark: IO_BUFFER });
    this.blocks = new BlockSplitter(chunkSize + TAG);
    this.aadMore = chunkAad(prefix, false);
    this.aadLast = chunkAad(prefix, true);
    this.firstChunk = new Promise<void>((resolve, reject) => {
      this.settleFirst = (err) => {
        this.settleFirst = null;
        if (err) reject(err);
        else resolve();
      };
    });
    this.firstChunk.catch(() => {}); // also reported as the stream's error
  }

  /** Pushes what one input piece opened as one buffer: one write downstream instead of many. */
  private pushOpened(parts: Buffer[]): void {
    if (parts.length === 0) return;
    this.push(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    this.settleFirst?.();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const parts: Buffer[] = [];
    try {
      this.blocks.feed(chunk, (block) => parts.push(this.open(block, false)));
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.pushOpened(parts);
    const wait = this.hash.ready();
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _flush(cb: TransformCallback): void {
    let last: Buffer;
    try {
      last = this.open(this.blocks.rest(), true);
      if (this.size !== this.expectedSize) {
        throw integrity(
          `artifact ${this.digest} has ${this.size} bytes, its key file says ${this.expectedSize}`,
        );
      }
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.hash.digest().then((hex) => {
      if (hex !== this.digest) {
        cb(integrity(`artifact ${this.digest} does not hash to its digest`, { digest: this.digest }));
        return;
      }
      this.pushOpened([last]);
      cb();
    }, cb);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.hash.abort();
    this.settleFirst?.(err ?? new Error('artifact stream closed before its first chunk'));
    cb(err);
  }

  private open(sealed: Buffer, last: boolean): Buffer {
    if (sealed.length < TAG) throw integrity(`artifact ${this.digest} is truncated`);
    if (this.counter >= MAX_CHUNKS) throw integrity(`artifact ${this.digest} has too many chunks`);
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, chunkNonce(this.prefix, this.counter), {
        authTagLength: TAG,
      });
      d.setAAD(last ? this.aadLast : this.aadMore);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      plain = d.update(sealed.subarray(0, sealed.length - TAG));
      d.final();
    } catch {
      throw integrity(
        `artifact ${this.digest}: chunk ${this.counter} failed authentication (altered, reordered or truncated)`,
        { digest: this.digest, chunk: this.counter },
      );
    }
    this.counter++;
    this.size += plain.length;
    if (this.size > this.expectedSize) throw integrity(`artifact ${this.digest} is longer than recorded`);
    this.hash.update(plain);
    return plain;
  }
}

/** Dirty bytes after which writeback is started, so the disk works while the stream goes on. */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * A new file (O_EXCL, 0600) written from a stream and fsynced before it reports finished.
 * Every SYNC_EVERY bytes an fdatasync is started in the background: otherwise the kernel may
 * hold gigabytes of dirty pages until the final fsync, and an upload would pay for its network
 * time and then for its whole disk time, one after the other.
 */
class DurableFile extends Writable {
  private fd = -1;
  private unsynced = 0;
  private syncing: Promise<void> | null = null;

  constructor(private readonly file: string) {
    super({ highWaterMark: 4 * IO_BUFFER });
  }

  override _construct(cb: (error?: Error | null) => void): void {
    fsCb.open(this.file, 'wx', 0o600, (err, fd) => {
      if (err) return cb(err);
      this.fd = fd;
      cb();
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.writeAll([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (error?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  private writeAll(buffers: Buffer[], cb: (error?: Error | null) => void): void {
    fsCb.writev(this.fd, buffers, (err, written) => {
      if (err) return cb(err);
      const total = buffers.reduce((n, b) => n + b.length, 0);
      this.unsynced += written;
      if (this.unsynced >= SYNC_EVERY && !this.syncing) {
        this.unsynced = 0;
        this.syncing = new Promise<void>((resolve) => fsCb.fdatasync(this.fd, () => resolve())).then(() => {
          this.syncing = null;
        });
      }
      if (written === total) return cb();
      // A short write (rare on regular files): write what is left.
      let skip = written;
      const rest: Buffer[] = [];
      for (const b of buffers) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(skip ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      this.writeAll(rest, cb);
    });
  }

  override _final(cb: (error?: Error | null) => void): void {
    void (this.syncing ?? Promise.resolve()).then(() => fsCb.fsync(this.fd, (err) => cb(err)));
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = -1;
    if (fd < 0) {
      cb(err);
      return;
    }
    void (this.syncing ?? Promise.resolve()).then(() => fsCb.close(fd, () => cb(err)));
  }
}

function parseSidecar(digest: string, raw: string): ArtifactSidecar {
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
    (s.chunkSize as number) <= 16 * 1024 * 1024 &&
    typeof s.prefix === 'string' &&
    /^[0-9a-f]{16}$/.test(s.prefix) &&
    Number.isSafeInteger(s.size) &&
    (s.size as number) >= 0 &&
    typeof s.key === 'string';
  if (!ok) throw integrity(`artifact ${digest}: key file is malformed`);
  return s as ArtifactSidecar;
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Names of tmp entries: `<u|d|k>-<pid>-<random>-<host tag>`, so a restart can tell whose debris it is. */
function tmpName(kind: 'u' | 'd' | 'k'): string {
  return `${kind}-${process.pid}-${randomBytes(6).toString('hex')}-${HOST_TAG}`;
}

/** True when a tmp entry was left by a process that can no longer finish it. */
function abandoned(name: string, mtimeMs: number): boolean {
  const m = /^[udk]-(\d+)-[0-9a-f]+-([0-9a-f]{8})$/.exec(name);
  if (!m) return true;
  if (m[2] === HOST_TAG) return !pidAlive(Number(m[1]));
  return Date.now() - mtimeMs > FOREIGN_TMP_MAX_AGE_MS;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeFileSynced(file: string, content: string): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
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
      const key = randomBytes(DATA_KEY);
      const prefix = randomBytes(PREFIX);
      const sealer = new ChunkSealer(key, prefix, this.chunkSize, opts.maxBytes);
      await pipeline(source, sealer, new DurableFile(path.join(work, 'data')));
      const digest = await sealer.hash.digest();
      const size = sealer.size;
      const partial = { prefix: prefix.toString('hex'), chunkSize: this.chunkSize, size };
      const sidecar: ArtifactSidecar = {
        format: 1,
        cipher: 'aes-256-gcm-chunked',
        ...partial,
        key: this.keyring.wrap(key, keyContext(digest, partial)),
      };
      await writeFileSynced(path.join(work, 'key.json'), `${JSON.stringify(sidecar)}\n`);
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
      throw new FalajError('FALAJ_NOT_FOUND', `artifact blob ${digest} does not exist`, { digest });
    }
    return parseSidecar(digest, raw);
  }

  async get(digest: string): Promise<Readable> {
    const paths = this.objectPaths(digest);
    const sidecar = await this.readSidecar(digest);
    const key = this.keyring.unwrap(sidecar.key, keyContext(digest, sidecar));
    if (key.length !== DATA_KEY) throw integrity(`artifact ${digest}: data key has the wrong length`);
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
      for (const name of names.sort()) if (DIGEST.test(name) && name.startsWith(shard)) yield name;
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
        key = this.keyring.rewrap(sidecar.key, keyContext(digest, sidecar));
      } catch (err) {
        report.failed.push(failure(digest, err));
        continue;
      }
      if (key === sidecar.key) continue;
      const tmp = path.join(dir, `key.json.${tmpName('k')}`);
      try {
        await writeFileSynced(tmp, `${JSON.stringify({ ...sidecar, key })}\n`);
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
