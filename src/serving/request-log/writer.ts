// The request log's writer: the request path appends (an array push, no I/O), and a timer (or a
// full buffer) flushes off the request path, one flush at a time, one Parquet file per
// deployment and hour. A file the stores refuse keeps its entries for the next flush.
import { createLogger } from '../../core/logger.js';
import type { Services } from '../../http/services.js';
import type { RequestLogEntry } from './entry.js';
import { hourOf, rowsOf } from './entry.js';
import { rowCount } from './layout.js';
import { LogStoreError, openLogWorkspace, writeLogFile } from './log-file.js';
import { projectHashKey } from './pii-key.js';

export interface RequestLogWriterOptions {
  /** Flush when this many log rows are buffered; default 50,000. */
  maxRows?: number;
  /** Flush period of start()'s timer; default 2,000 ms. */
  flushMs?: number;
  /** Share of a deployment's requests logged, 0..1 (default 1); failures are always logged. */
  sample?: (deploymentId: string) => number;
  /** Rows buffered past which appended entries are dropped (counted); default 1,000,000. */
  maxBufferedRows?: number;
  /** Told of every failed write (the default logs it at error level). */
  onError?: (err: unknown, info: { deploymentId: string; rows: number; retried: boolean }) => void;
}

export interface RequestLogStats {
  /** Log rows waiting for a flush. */
  buffered: number;
  /** Log rows written to committed files. */
  written: number;
  /** Log rows dropped: appended past the buffer cap, or that could not be written as Parquet. */
  dropped: number;
  /** Files written. */
  files: number;
}

/** FNV-1a of the request id, as a share in [0, 1): the same id always gets the same decision. */
export function sampleShare(requestId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    h ^= requestId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche: FNV's low bits of short, similar ids are not spread enough alone.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

export class RequestLogWriter {
  private buffer: RequestLogEntry[] = [];
  private bufferedRows = 0;
  private written = 0;
  private dropped = 0;
  private files = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private fullFlushQueued = false;
  private readonly maxRows: number;
  private readonly flushMs: number;
  private readonly maxBufferedRows: number;
  private readonly sample: ((deploymentId: string) => number) | undefined;
  /** The projects' PII hash keys, read once per writer. */
  private readonly hashKeys = new Map<string, Buffer>();
  private readonly onError: NonNullable<RequestLogWriterOptions['onError']>;

  constructor(
    private readonly svc: Services,
    opts: RequestLogWriterOptions = {},
  ) {
    this.maxRows = opts.maxRows ?? 50_000;
    this.flushMs = opts.flushMs ?? 2000;
    this.maxBufferedRows = opts.maxBufferedRows ?? 1_000_000;
    this.sample = opts.sample;
    if (opts.onError) this.onError = opts.onError;
    else {
      const log = createLogger('info');
      this.onError = (err, info) => log.error({ err, ...info }, 'request log: a flush failed');
    }
  }

  /** O(1), never throws, never awaits I/O: the request path calls it. */
  append(entry: RequestLogEntry): void {
    try {
      if (this.sample && entry.status < 400) {
        const share = this.sample(entry.deploymentId);
        if (!(share >= 1) && !(sampleShare(entry.requestId) < share)) return;
      }
      const rows = rowsOf(entry);
      if (this.bufferedRows + rows > this.maxBufferedRows) {
        this.dropped += rows;
        return;
      }
      this.buffer.push(entry);
      this.bufferedRows += rows;
      if (this.bufferedRows >= this.maxRows && !this.fullFlushQueued) {
        this.fullFlushQueued = true;
        setImmediate(() => {
          this.fullFlushQueued = false;
          this.flush().catch(() => {}); // told to onError already
        }).unref();
      }
    } catch {
      this.dropped++; // a throwing sample() or a malformed entry never reaches the caller
    }
  }

  /**
   * Writes everything buffered now; resolves when its files and their rows are committed. Flushes
   * run one at a time (a call during one runs after it). Rejects with the first failure; entries
   * whose file the stores refused stay buffered for the next flush.
   */
  flush(): Promise<void> {
    this.pending++;
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run.then(
      () => {
        this.pending--;
      },
      () => {
        this.pending--;
      },
    );
    return run;
  }

  private async flushOnce(): Promise<void> {
    if (this.buffer.length === 0) return;
    const taken = this.buffer;
    this.buffer = [];
    this.bufferedRows = 0;
    const groups = new Map<string, RequestLogEntry[]>();
    for (const e of taken) {
      const key = `${e.deploymentId}\u0000${hourOf(e.time)}`;
      const g = groups.get(key);
      if (g) g.push(e);
      else groups.set(key, [e]);
    }
    let ws: Awaited<ReturnType<typeof openLogWorkspace>>;
    try {
      ws = await openLogWorkspace(this.svc);
    } catch (err) {
      // No workspace (disk full?): nothing was written, everything is kept.
      this.requeue(taken);
      this.onError(err, { deploymentId: '', rows: rowCount(taken), retried: true });
      throw err;
    }
    const retry: RequestLogEntry[] = [];
    let firstError: unknown;
    try {
      for (const entries of groups.values()) {
        const rows = rowCount(entries);
        try {
          await writeLogFile(this.svc, ws, entries, (p) => this.hashKey(p));
          this.written += rows;
          this.files++;
        } catch (err) {
          firstError ??= err;
          const retried = err instanceof LogStoreError;
          if (retried) retry.push(...entries);
          else this.dropped += rows; // cannot be written as Parquet: retrying would block the log
          this.onError(err, { deploymentId: entries[0]!.deploymentId, rows, retried });
        }
      }
    } finally {
      await ws.close().catch(() => {});
    }
    this.requeue(retry);
    if (firstError !== undefined) throw firstError;
  }

  private hashKey(projectId: string): Buffer {
    let key = this.hashKeys.get(projectId);
    if (!key) {
      key = projectHashKey(this.svc, projectId);
      this.hashKeys.set(projectId, key);
    }
    return key;
  }

  /** Puts entries back ahead of those appended since they were taken. */
  private requeue(entries: RequestLogEntry[]): void {
    if (entries.length === 0) return;
    this.buffer = entries.concat(this.buffer);
    this.bufferedRows += rowCount(entries);
  }

  /** Flushes every `flushMs` (an unref'd timer: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.pending > 0 || this.buffer.length === 0) return;
      this.flush().catch(() => {}); // told to onError already
    }, this.flushMs);
    this.timer.unref();
  }

  /** Stops the timer and flushes what is buffered. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  stats(): RequestLogStats {
    return { buffered: this.bufferedRows, written: this.written, dropped: this.dropped, files: this.files };
  }
}
