// A replica's request log: entries are buffered (an array push on the request path) and posted
// to a server in batches (POST .../deployments/:d/request-log, at most MAX_LOG_BATCH per call),
// which appends them to its own request log. An entry leaves the buffer only once the server
// answered 2xx; a failed post is retried (backoff up to 10 s) with the same entries first. The
// buffer is bounded (maxEntries): past it, new entries are dropped and counted, never blocking a
// request. Delivery is at least once: a post whose answer was lost is sent again.
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { type RequestLogEntry, sampleShare } from '../request-log/index.js';
import { encodeLogEntry, MAX_LOG_BATCH } from './wire.js';

export interface LogShipperOptions {
  client: FalajClient;
  project: string;
  /** The share of successful requests logged, per deployment id (the deployment's log.sample). */
  sample?: (deploymentId: string) => number;
  flushMs?: number;
  maxEntries?: number;
  onError?: (err: Error) => void;
}

export interface LogShipperStats {
  buffered: number;
  shipped: number;
  dropped: number;
  failures: number;
}

export const logPath = (project: string, deployment: string) =>
  `/api/v1/projects/${encodeURIComponent(project)}/deployments/${encodeURIComponent(deployment)}/request-log`;

export class LogShipper {
  private buffer: RequestLogEntry[] = [];
  private shipped = 0;
  private dropped = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly maxEntries: number;
  private readonly flushMs: number;

  constructor(private readonly opts: LogShipperOptions) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.flushMs = opts.flushMs ?? 1000;
  }

  /** O(1), never throws: the request path calls it (as it calls RequestLogWriter.append). */
  append(entry: RequestLogEntry): void {
    try {
      if (this.opts.sample && entry.status < 400) {
        const share = this.opts.sample(entry.deploymentId);
        if (!(share >= 1) && !(sampleShare(entry.requestId) < share)) return;
      }
      if (this.buffer.length >= this.maxEntries) {
        this.dropped++;
        return;
      }
      this.buffer.push(entry);
    } catch {
      this.dropped++;
    }
  }

  stats(): LogShipperStats {
    return {
      buffered: this.buffer.length,
      shipped: this.shipped,
      dropped: this.dropped,
      failures: this.failures,
    };
  }

  start(): void {
    let delay = this.flushMs;
    const tick = () => {
      void this.flush()
        .then(
          () => {
            delay = this.flushMs;
          },
          (err: Error) => {
            this.opts.onError?.(err);
            delay = Math.min(delay * 2, 10_000);
          },
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, delay).unref();
        });
    };
    this.timer = setTimeout(tick, this.flushMs).unref();
  }

  /** Stops the timer and ships what is buffered (trying for up to `withinMs`). */
  async stop(withinMs = 10_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const until = Date.now() + withinMs;
    for (;;) {
      try {
        await this.flush();
        return;
      } catch (err) {
        this.opts.onError?.(err as Error);
        if (Date.now() > until) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Ships everything buffered now; one flush at a time. Rejects on the first failed post. */
  flush(): Promise<void> {
    const prev = this.running ?? Promise.resolve();
    const run = prev.then(() => this.flushOnce());
    // The chain never rejects (the caller gets the failure from `run`).
    const settled: Promise<void> = run.then(
      () => {
        if (this.running === settled) this.running = undefined;
      },
      () => {
        if (this.running === settled) this.running = undefined;
      },
    );
    this.running = settled;
    return run;
  }

  private async flushOnce(): Promise<void> {
    while (this.buffer.length > 0) {
      // The oldest entry's deployment, and up to a batch of its entries in order.
      const name = this.buffer[0]!.deployment;
      const picked: number[] = [];
      for (let i = 0; i < this.buffer.length && picked.length < MAX_LOG_BATCH; i++)
        if (this.buffer[i]!.deployment === name) picked.push(i);
      const entries = picked.map((i) => this.buffer[i]!);
      try {
        await this.opts.client.request('POST', logPath(this.opts.project, name), {
          json: { entries: entries.map(encodeLogEntry) },
          timeoutMs: 30_000,
        });
      } catch (err) {
        this.failures++;
        // Refused for what they are (a deployment deleted, an entry the server cannot take):
        // sending them again would fail forever and hold back every later entry.
        const status = err instanceof FalajApiError ? err.status : 0;
        if (status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status)) {
          this.dropped += entries.length;
          this.remove(picked);
          this.opts.onError?.(err as Error);
          continue;
        }
        throw err;
      }
      // Acknowledged: only now do they leave the buffer (appends since went to its end).
      this.remove(picked);
      this.shipped += entries.length;
    }
  }

  private remove(indices: readonly number[]): void {
    const taken = new Set(indices);
    this.buffer = this.buffer.filter((_, i) => !taken.has(i));
  }
}
