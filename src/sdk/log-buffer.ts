import type { KeyValue } from './types.js';

/** A metric as it goes on the wire (the value already encoded). */
export interface WireMetric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}

export interface Batch {
  metrics: WireMetric[];
  params: KeyValue[];
  tags: KeyValue[];
}

/** MLflow's runs/log-batch limits; the server refuses a batch past any of them. */
export const BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  entities: 1000,
  /** MLflow's limit is 1 MB of body; this leaves room for the envelope and escaping. */
  bytes: 900_000,
} as const;

// Over-estimates an entity's JSON size (UTF-16 length ×3 covers any UTF-8 and escaping of
// ordinary text) cheaply; exactness matters only near the byte limit.
function sizeOf(kv: { key: string; value: unknown }): number {
  return 64 + kv.key.length * 3 + (typeof kv.value === 'string' ? kv.value.length * 3 : 24);
}

/**
 * What a run has logged but not yet sent, cut into log-batch requests within MLflow's limits
 * and sent one at a time, in logging order per kind: when a kind fills a batch, on a timer, and
 * on flush(). A batch the server refuses is not sent again (log-batch is all or nothing, and
 * a refused batch would be refused again); its error is kept for the next flush() to throw.
 */
export class LogBuffer {
  private metrics: WireMetric[] = [];
  private params: KeyValue[] = [];
  private tags: KeyValue[] = [];
  private draining: Promise<void> | null = null;
  private errors: unknown[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (batch: Batch) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  get size(): number {
    return this.metrics.length + this.params.length + this.tags.length;
  }

  /** True while something is buffered or on its way. */
  get busy(): boolean {
    return this.size > 0 || this.draining !== null;
  }

  addMetric(m: WireMetric): void {
    this.metrics.push(m);
    if (this.metrics.length >= BATCH_LIMITS.metrics) this.kick();
    else this.arm();
  }

  addParam(p: KeyValue): void {
    this.params.push(p);
    if (this.params.length >= BATCH_LIMITS.params) this.kick();
    else this.arm();
  }

  addTag(t: KeyValue): void {
    this.tags.push(t);
    if (this.tags.length >= BATCH_LIMITS.tags) this.kick();
    else this.arm();
  }

  /** Sends everything buffered; rejects with the first error since the last flush. */
  async flush(): Promise<void> {
    while (this.busy) {
      this.kick();
      await this.draining;
    }
    if (this.errors.length > 0) {
      const [first] = this.errors;
      this.errors = [];
      throw first;
    }
  }

  /** Stops the timer; what is buffered stays until flush(). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer || this.intervalMs <= 0) return;
    // unref: a pending flush never keeps the process alive (the exit hook flushes instead).
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, this.intervalMs);
    this.timer.unref();
  }

  private kick(): void {
    if (this.draining || this.size === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.size > 0) {
      const batch = this.take();
      try {
        await this.send(batch);
      } catch (err) {
        this.errors.push(err);
        this.onError(err);
      }
    }
  }

  /** The next batch: params, then tags, then metrics, within every limit (at least one entity). */
  private take(): Batch {
    let bytes = 0;
    let entities = 0;
    const fits = (kv: { key: string; value: unknown }) => {
      const s = sizeOf(kv);
      if (entities > 0 && (bytes + s > BATCH_LIMITS.bytes || entities >= BATCH_LIMITS.entities)) return false;
      bytes += s;
      entities++;
      return true;
    };
    const cut = <T extends { key: string; value: unknown }>(items: T[], max: number): T[] => {
      let n = 0;
      while (n < items.length && n < max && fits(items[n]!)) n++;
      return items.splice(0, n);
    };
    const params = cut(this.params, BATCH_LIMITS.params);
    const tags = cut(this.tags, BATCH_LIMITS.tags);
    const metrics = cut(this.metrics, BATCH_LIMITS.metrics);
    return { metrics, params, tags };
  }
}
