import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FalajError } from '../core/errors.js';

/**
 * SHA-256 of a stream, computed on a worker thread once the stream is bigger than one batch, so
 * that the thread moving the bytes only encrypts (or decrypts) them: hashing and AES-GCM on one
 * thread would cap an artifact transfer near half the speed of either.
 *
 * Bytes are copied into a ring of batches in a SharedArrayBuffer that the worker reads in place;
 * messages carry only slot numbers. (Transferring ArrayBuffers instead was measured to cost up
 * to a millisecond per batch under allocation pressure: detaching a buffer waits for V8's
 * array-buffer sweeper.) A stream that ends within its first batch is hashed inline.
 */
export interface StreamHash {
  update(data: Buffer): void;
  /** A promise to await before handing over more, when the worker is behind; else undefined. */
  ready(): Promise<void> | undefined;
  /** The hex digest of everything handed over; ends the stream's session. */
  digest(): Promise<string>;
  /** Ends the session without a digest (the stream failed). Idempotent. */
  abort(): void;
}

const BATCH = 1024 * 1024;
/** Batches per stream waiting for or being hashed: at most 8 MiB of a stream is in flight. */
const SLOTS = 8;

// Plain CommonJS, run with `eval`: no separate file to ship or to resolve from dist/ or src/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const BATCH = ${BATCH};
const sessions = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'o') {
    sessions.set(m.id, { ring: new Uint8Array(m.ring), hash: createHash('sha256') });
  } else if (m.t === 'u') {
    const s = sessions.get(m.id);
    if (s) s.hash.update(s.ring.subarray(m.slot * BATCH, m.slot * BATCH + m.len));
    parentPort.postMessage({ t: 'a', id: m.id, slot: m.slot });
  } else if (m.t === 'd') {
    const s = sessions.get(m.id);
    sessions.delete(m.id);
    parentPort.postMessage({ t: 'r', id: m.id, hex: s ? s.hash.digest('hex') : '' });
  } else if (m.t === 'x') {
    sessions.delete(m.id);
  }
});
`;

type WorkerMessage = { t: 'a'; id: number; slot: number } | { t: 'r'; id: number; hex: string };

/** One stream's session on a hashing thread. */
class RingSession {
  private readonly ring: SharedArrayBuffer;
  private readonly view: Buffer;
  private readonly free: number[] = [];
  private slot = -1;
  private filled = 0;
  /** Bytes that arrived while every slot was taken (one huge update); sent as slots free up. */
  private readonly overflow: Buffer[] = [];
  private failure: Error | null = null;
  private waiter: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private result: { resolve: (hex: string) => void; reject: (err: Error) => void } | null = null;
  private digestAsked = false;
  private closed = false;

  constructor(
    private readonly thread: HashThread,
    readonly id: number,
  ) {
    this.ring = thread.takeRing();
    this.view = Buffer.from(this.ring);
    for (let i = SLOTS - 1; i >= 0; i--) this.free.push(i);
    thread.post({ t: 'o', id, ring: this.ring });
  }

  update(data: Buffer): void {
    if (this.closed) return;
    if (this.overflow.length > 0) {
      this.overflow.push(Buffer.from(data));
      return;
    }
    let off = 0;
    while (off < data.length) {
      if (this.slot < 0) {
        const slot = this.free.pop();
        if (slot === undefined) {
          this.overflow.push(Buffer.from(data.subarray(off)));
          return;
        }
        this.slot = slot;
        this.filled = 0;
      }
      const n = Math.min(BATCH - this.filled, data.length - off);
      data.copy(this.view, this.slot * BATCH + this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === BATCH) this.send();
    }
  }

  private send(): void {
    if (this.slot < 0 || this.filled === 0) return;
    this.thread.post({ t: 'u', id: this.id, slot: this.slot, len: this.filled });
    this.slot = -1;
    this.filled = 0;
  }

  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.free.length > 0 && this.overflow.length === 0) return undefined;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed || this.digestAsked) return Promise.reject(new Error('hash session already ended'));
    this.digestAsked = true;
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
      this.finishIfDrained();
    });
  }

  private finishIfDrained(): void {
    if (!this.digestAsked || this.overflow.length > 0) return;
    this.send();
    this.thread.post({ t: 'd', id: this.id });
  }

  abort(): void {
    if (this.closed) return;
    this.close();
    this.thread.post({ t: 'x', id: this.id });
  }

  private close(): void {
    this.closed = true;
    this.overflow.length = 0;
    this.thread.release(this.id, this.ring);
  }

  onAck(slot: number): void {
    if (this.closed) return;
    this.free.push(slot);
    while (this.overflow.length > 0 && this.free.length > 0) {
      const pending = this.overflow.splice(0);
      for (const b of pending) this.update(b);
    }
    if (this.overflow.length === 0) this.finishIfDrained();
    if (this.waiter && this.free.length > 0 && this.overflow.length === 0) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve();
    }
  }

  onResult(hex: string): void {
    if (this.closed) return;
    this.close();
    this.result?.resolve(hex);
    this.result = null;
  }

  fail(err: Error): void {
    this.failure = err;
    this.closed = true;
    this.waiter?.reject(err);
    this.result?.reject(err);
    this.waiter = null;
    this.result = null;
  }
}

class HashThread {
  private readonly worker: Worker;
  private readonly sessions = new Map<number, RingSession>();
  /** Rings of finished sessions, kept for the next ones (a few: each is SLOTS MiB). */
  private readonly idleRings: SharedArrayBuffer[] = [];
  private nextId = 1;
  broken = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, name: 'falaj-sha256' });
    // Held only while a stream is hashing, so an idle server (or a test run) can exit.
    this.worker.unref();
    this.worker.on('message', (m: WorkerMessage) => {
      const s = this.sessions.get(m.id);
      if (!s) return;
      if (m.t === 'a') s.onAck(m.slot);
      else s.onResult(m.hex);
    });
    const down = (err: unknown) => {
      this.broken = true;
      const failure = new FalajError('FALAJ_INTERNAL', `the hashing thread stopped: ${String(err)}`);
      for (const s of this.sessions.values()) s.fail(failure);
      this.sessions.clear();
    };
    this.worker.on('error', down);
    this.worker.on('exit', (code) => down(`exit ${code}`));
  }

  get load(): number {
    return this.sessions.size;
  }

  open(): RingSession {
    const s = new RingSession(this, this.nextId++);
    this.sessions.set(s.id, s);
    if (this.sessions.size === 1) this.worker.ref();
    return s;
  }

  takeRing(): SharedArrayBuffer {
    return this.idleRings.pop() ?? new SharedArrayBuffer(SLOTS * BATCH);
  }

  release(id: number, ring: SharedArrayBuffer): void {
    // A ring goes back only after the worker is done with its session (its messages are in
    // order, so a new session's batches are hashed after the old session's last one).
    if (this.idleRings.length < 2) this.idleRings.push(ring);
    if (this.sessions.delete(id) && this.sessions.size === 0) this.worker.unref();
  }

  post(message: object): void {
    if (!this.broken) this.worker.postMessage(message);
  }
}

const pool: HashThread[] = [];
const POOL_SIZE = Math.max(1, Math.min(4, availableParallelism() - 1));
let workersUnavailable = false;

/** A session on the least busy hashing thread, or null where threads cannot start. */
function openSession(): RingSession | null {
  if (workersUnavailable) return null;
  for (let i = pool.length - 1; i >= 0; i--) if (pool[i]!.broken) pool.splice(i, 1);
  let thread = pool.find((t) => t.load === 0);
  if (!thread && pool.length < POOL_SIZE) {
    try {
      thread = new HashThread();
      pool.push(thread);
    } catch {
      workersUnavailable = true;
      return null;
    }
  }
  thread ??= pool.reduce((a, b) => (b.load < a.load ? b : a));
  return thread.open();
}

/** Starts inline; moves to a hashing thread when the stream outgrows its first batch. */
class StreamSha256 implements StreamHash {
  private staging: Buffer | null = Buffer.allocUnsafe(64 * 1024);
  private staged = 0;
  private session: RingSession | null = null;
  private inline: Hash | null = null;

  update(data: Buffer): void {
    if (this.session) {
      this.session.update(data);
      return;
    }
    if (this.inline) {
      this.inline.update(data);
      return;
    }
    const staging = this.staging!;
    if (this.staged + data.length <= BATCH) {
      if (this.staged + data.length > staging.length) {
        const grown = Buffer.allocUnsafe(
          Math.min(BATCH, Math.max(2 * staging.length, this.staged + data.length)),
        );
        staging.copy(grown, 0, 0, this.staged);
        this.staging = grown;
      }
      data.copy(this.staging!, this.staged);
      this.staged += data.length;
      return;
    }
    const head = staging.subarray(0, this.staged);
    this.staging = null;
    this.session = openSession();
    if (this.session) {
      this.session.update(head);
      this.session.update(data);
    } else {
      this.inline = createHash('sha256').update(head).update(data);
    }
  }

  ready(): Promise<void> | undefined {
    return this.session?.ready();
  }

  async digest(): Promise<string> {
    if (this.session) return this.session.digest();
    if (this.inline) return this.inline.digest('hex');
    const hex = createHash('sha256').update(this.staging!.subarray(0, this.staged)).digest('hex');
    this.staging = null;
    return hex;
  }

  abort(): void {
    this.session?.abort();
    this.staging = null;
  }
}

/** A SHA-256 for one stream (see the top of this file). */
export function streamHash(): StreamHash {
  return new StreamSha256();
}
