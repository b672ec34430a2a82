import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FalajError } from '../core/errors.js';
import { BlockSplitter } from './block-splitter.js';
import { type StreamHash, streamHash } from './offload-hash.js';

/*
 * The sealed-stream format (format 1): how an artifact's plaintext is encrypted at rest. Every
 * artifact backend writes these bytes, so that a blob moves between backends as it is; where
 * a backend keeps them (a file, an object) is its own business. The sidecar that carries the
 * parameters and the wrapped data key is specified in sealed-sidecar.ts.
 *
 * Parameters of one object (all recorded in its sidecar):
 *   key        32 random bytes, the object's own AES-256 data key (never reused)
 *   prefix     8 random bytes, the object's nonce prefix
 *   chunkSize  plaintext bytes per chunk, 1 ≤ chunkSize ≤ 16 MiB (64 KiB by default)
 *   size       plaintext bytes in total
 *
 * The plaintext is cut into n = max(1, ceil(size / chunkSize)) chunks: every chunk but the last
 * holds exactly chunkSize bytes, the last holds the rest (1..chunkSize bytes, or 0 bytes when
 * size is 0: an empty object is one empty chunk). Chunk i (counting from 0, i < 2^32) is
 * sealed with AES-256-GCM, a 16-byte tag, and
 *   nonce (12 bytes)  = prefix ‖ uint32 big-endian(i)
 *   associated data   = ASCII "falaj-artifact-v1" ‖ prefix ‖ (0x01 if i = n-1, else 0x00)
 * and written as its ciphertext (as long as its plaintext) followed by its tag. The sealed
 * stream is the concatenation of the sealed chunks in order, nothing before, between or after:
 * sealedLength(size, chunkSize) = size + 16·n bytes.
 *
 * What this defends: a flipped bit fails its chunk's tag; reordered chunks fail on the counter
 * in the nonce; a dropped tail fails on the last-chunk mark (the new last chunk was sealed as
 * "not last"); a chunk of another object fails on the key and prefix. An opener therefore
 * checks each chunk's tag before it releases that chunk's plaintext, requires the mark on the
 * last chunk and on no other, and holds the last chunk's plaintext back until the total size
 * equals `size` and the SHA-256 of the plaintext equals the object's digest (its address): a
 * reader that counts bytes never receives a complete body for altered or substituted data.
 * Every refusal is FALAJ_ARTIFACT_INTEGRITY.
 */

/** Plaintext bytes per chunk unless a store is configured otherwise. */
export const ARTIFACT_CHUNK_SIZE = 64 * 1024;
/** Largest chunk size a sidecar may name. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const DATA_KEY_BYTES = 32;
export const PREFIX_BYTES = 8;
const TAG = 16;
const MAX_CHUNKS = 2 ** 32;
const AAD_LABEL = Buffer.from('falaj-artifact-v1');
/** Stream buffer sizes on both sides of the sealer and opener. */
export const IO_BUFFER = 1024 * 1024;

export const integrity = (message: string, details?: unknown) =>
  new FalajError('FALAJ_ARTIFACT_INTEGRITY', message, details);

/** A fresh data key and nonce prefix, for one object only. */
export function newObjectSecrets(): { key: Buffer; prefix: Buffer } {
  return { key: randomBytes(DATA_KEY_BYTES), prefix: randomBytes(PREFIX_BYTES) };
}

function chunkAad(prefix: Buffer, last: boolean): Buffer {
  return Buffer.concat([AAD_LABEL, prefix, Buffer.from([last ? 1 : 0])]);
}

function chunkNonce(prefix: Buffer, counter: number): Buffer {
  const nonce = Buffer.allocUnsafe(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, PREFIX_BYTES);
  return nonce;
}

/** Sealed length of `size` plaintext bytes: every chunk gains a tag, and there is always one chunk. */
export function sealedLength(size: number, chunkSize: number): number {
  return size + Math.max(1, Math.ceil(size / chunkSize)) * TAG;
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
