import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/store.js';
import { canonicalJson } from './audit-log.js';

/**
 * Signed checkpoints of the audit chain's head, kept outside the database.
 *
 * The hash chain alone finds an edited, dropped or reordered event, but not the newest events
 * cut off the end: what remains is still a valid chain. A checkpoint is a statement, signed with
 * an Ed25519 key that lives in the data directory and never in the database, that "at `time`
 * the chain reached `seq` with head hash `hash`". An intruder with access to the database only
 * can neither remove such a statement nor forge one, so deleting events up to the last
 * checkpoint is found. Events written after the last checkpoint can still be cut off unnoticed.
 */
export interface Checkpoint {
  seq: number;
  hash: string;
  /** ISO-8601 time the checkpoint was taken. */
  time: string;
  /** Ed25519 signature over canonicalJson({seq, hash, time}), base64. */
  sig: string;
}

export interface CheckpointPaths {
  privateKey: string;
  publicKey: string;
  file: string;
}

export function checkpointPaths(dataDir: string): CheckpointPaths {
  return {
    privateKey: path.join(dataDir, 'keys', 'audit-signing.key'),
    publicKey: path.join(dataDir, 'keys', 'audit-signing.pub'),
    file: path.join(dataDir, 'audit', 'checkpoints.jsonl'),
  };
}

/** The bytes a checkpoint's signature covers. */
export function checkpointPayload(cp: Pick<Checkpoint, 'seq' | 'hash' | 'time'>): Buffer {
  return Buffer.from(canonicalJson({ seq: cp.seq, hash: cp.hash, time: cp.time }));
}

export function signCheckpoint(
  privateKey: KeyObject,
  head: Pick<Checkpoint, 'seq' | 'hash' | 'time'>,
): Checkpoint {
  const sig = sign(null, checkpointPayload(head), privateKey).toString('base64');
  return { seq: head.seq, hash: head.hash, time: head.time, sig };
}

export function checkpointSignatureValid(publicKey: KeyObject, cp: Checkpoint): boolean {
  try {
    return verify(null, checkpointPayload(cp), publicKey, Buffer.from(cp.sig, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The signing key pair, created on first use: the private key as PKCS#8 PEM (mode 0600), the
 * public key as SPKI PEM beside it. Creation is exclusive, so two processes starting on one
 * data directory end up with the same key.
 */
export function loadOrCreateSigningKey(dataDir: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const paths = checkpointPaths(dataDir);
  mkdirSync(path.dirname(paths.privateKey), { recursive: true, mode: 0o700 });
  if (!existsSync(paths.privateKey)) {
    const pair = generateKeyPairSync('ed25519');
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' });
    try {
      writeFileSync(paths.privateKey, pem, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const privateKey = createPrivateKey(readFileSync(paths.privateKey));
  const publicKey = createPublicKey(privateKey);
  if (!existsSync(paths.publicKey)) {
    writeFileSync(paths.publicKey, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
  return { privateKey, publicKey };
}

/**
 * The public key to verify with: an explicitly given PEM (pinned outside the data directory),
 * else `keys/audit-signing.pub`, else null (no checkpoints were ever written there).
 */
export function readVerifyKey(dataDir: string, publicKeyPem?: string | Buffer): KeyObject | null {
  if (publicKeyPem !== undefined) return createPublicKey(publicKeyPem);
  const paths = checkpointPaths(dataDir);
  if (existsSync(paths.publicKey)) return createPublicKey(readFileSync(paths.publicKey));
  return null;
}

/** One line of the checkpoint file, parsed (or why it could not be). */
export type CheckpointLine =
  | { line: number; checkpoint: Checkpoint; error?: undefined }
  | { line: number; checkpoint?: undefined; error: string };

export function parseCheckpointLine(text: string): Checkpoint | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const o = v as Partial<Checkpoint> | null;
  if (
    !o ||
    typeof o !== 'object' ||
    !Number.isSafeInteger(o.seq) ||
    typeof o.hash !== 'string' ||
    typeof o.time !== 'string' ||
    typeof o.sig !== 'string'
  )
    return 'not a checkpoint {seq, hash, time, sig}';
  return { seq: o.seq!, hash: o.hash, time: o.time, sig: o.sig };
}

/** The file's size and whether its last byte is a newline (a crash mid-append leaves a torn line). */
function snapshot(file: string): { size: number; endsWithNewline: boolean } {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size === 0) return { size, endsWithNewline: true };
    const buf = Buffer.alloc(1);
    readSync(fd, buf, 0, 1, size - 1);
    return { size, endsWithNewline: buf[0] === 0x0a };
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams the checkpoint file line by line (it grows with the chain, so it is never read whole),
 * up to the size it had when the first line was asked for: a checkpoint appended later may cover
 * events that a reader which started earlier has not seen. A torn final line (no trailing
 * newline: the writer crashed mid-append) is skipped and reported through `onTornTail`; any
 * other unreadable line is yielded as an error.
 */
export async function* readCheckpoints(
  dataDir: string,
  onTornTail?: (line: number) => void,
): AsyncGenerator<CheckpointLine> {
  const { file } = checkpointPaths(dataDir);
  if (!existsSync(file)) return;
  const { size, endsWithNewline } = snapshot(file);
  if (size === 0) return;
  const input = createReadStream(file, { encoding: 'utf8', start: 0, end: size - 1 });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  let held: { line: number; text: string } | undefined;
  for await (const text of lines) {
    n += 1;
    // One line behind, so that the last line is known to be the last one.
    if (held) yield toLine(held);
    held = { line: n, text };
  }
  if (!held) return;
  if (!endsWithNewline && typeof parseCheckpointLine(held.text) === 'string') {
    onTornTail?.(held.line);
    return;
  }
  yield toLine(held);
}

function toLine({ line, text }: { line: number; text: string }): CheckpointLine {
  if (text.trim() === '') return { line, error: 'empty line' };
  const parsed = parseCheckpointLine(text);
  return typeof parsed === 'string' ? { line, error: parsed } : { line, checkpoint: parsed };
}

/** The last well-formed checkpoint in the file, read from its tail (cheap at any file size). */
export async function lastCheckpoint(dataDir: string): Promise<Checkpoint | null> {
  const { file } = checkpointPaths(dataDir);
  if (!existsSync(file)) return null;
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const parsed = parseCheckpointLine(lines[i]!);
      if (typeof parsed !== 'string') return parsed;
    }
    return null;
  } finally {
    await fh.close();
  }
}

export async function appendCheckpoint(dataDir: string, cp: Checkpoint): Promise<void> {
  const { file } = checkpointPaths(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // One short write with O_APPEND: a whole line lands at the end, or (on a crash) a torn tail
  // that the reader recognises.
  await appendFile(file, `${JSON.stringify(cp)}\n`, { mode: 0o600 });
}

export interface CheckpointWriterOptions {
  clock?: Clock;
  /** How often the chain head is polled; a checkpoint is written when it has moved. */
  intervalMs?: number;
  logger?: Pick<Logger, 'error' | 'warn'>;
}

/**
 * Writes a signed checkpoint whenever the chain head has moved: polled every `intervalMs`
 * (1 s by default) and once more on stop, so a clean shutdown leaves the final head covered.
 * Each server writes into its own data directory; with several servers on one PostgreSQL,
 * each one's checkpoints cover the shared chain.
 */
export class CheckpointWriter {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private keys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
  private last: { seq: number; hash: string } | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Checkpointing is serialised: each call runs after the previous one has finished. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly opts: CheckpointWriterOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.intervalMs = opts.intervalMs ?? 1000;
  }

  /** Loads (or creates) the signing key, remembers the last checkpoint, starts polling. */
  async start(): Promise<void> {
    this.keys = loadOrCreateSigningKey(this.dataDir);
    const last = await lastCheckpoint(this.dataDir);
    this.last = last ? { seq: last.seq, hash: last.hash } : null;
    this.stopped = false;
    this.timer = setInterval(() => {
      void this.checkpointNow();
    }, this.intervalMs);
    // Polling must not keep a process alive on its own.
    this.timer.unref();
  }

  /**
   * Writes a checkpoint if the head moved since the last one; returns it, or null. Calls never
   * overlap: a call during another one waits for it and then looks again.
   */
  checkpointNow(): Promise<Checkpoint | null> {
    const next = this.queue.then(() => this.tick());
    this.queue = next;
    return next;
  }

  /** Stops polling and writes a final checkpoint. Idempotent; call before the store closes. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    if (this.keys) await this.checkpointNow();
  }

  private async tick(): Promise<Checkpoint | null> {
    try {
      this.keys ??= loadOrCreateSigningKey(this.dataDir);
      const head = await this.store.db
        .selectFrom('audit_events')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!head) return null;
      const last = this.last;
      if (last && last.seq === head.seq && last.hash === head.hash) return null;
      if (last && (head.seq < last.seq || (head.seq === last.seq && head.hash !== last.hash))) {
        // The chain went backwards under a running server: somebody cut it. Keep checkpointing
        // (new events need covering too); the earlier checkpoint still proves the cut.
        this.opts.logger?.error(
          { lastCheckpoint: last, head },
          'audit chain head is behind the last checkpoint: events were removed from the database',
        );
      }
      const cp = signCheckpoint(this.keys.privateKey, {
        seq: head.seq,
        hash: head.hash,
        time: new Date(this.clock.now()).toISOString(),
      });
      await appendCheckpoint(this.dataDir, cp);
      this.last = { seq: cp.seq, hash: cp.hash };
      return cp;
    } catch (err) {
      this.opts.logger?.error({ err }, 'could not write an audit checkpoint');
      return null;
    }
  }
}
