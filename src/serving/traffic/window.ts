// A sliding window of one variant's requests: count, errors and a latency histogram per time
// bucket, merged on demand. Memory is fixed (at most BUCKETS buckets of BINS counters), so a
// day-long window costs what a minute-long one does; p99 is read from the histogram, exact to
// one bin (bins grow by 10%).

const BUCKETS = 60;
const BIN_GROWTH = 1.1;
const MIN_MS = 0.01;
/** Bins from 0.01 ms to about 20 minutes. */
const BINS = Math.ceil(Math.log(1_200_000 / MIN_MS) / Math.log(BIN_GROWTH)) + 1;

function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BINS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(BIN_GROWTH)));
}

/** The upper bound of a bin, in ms. */
function binUpper(bin: number): number {
  return MIN_MS * BIN_GROWTH ** bin;
}

export interface WindowStats {
  requests: number;
  errors: number;
  errorRate: number;
  /** ms; 0 with no requests. */
  p99Ms: number;
}

export class RequestWindow {
  private readonly bucketMs: number;
  private readonly starts = new Float64Array(BUCKETS).fill(-1);
  private readonly counts = new Float64Array(BUCKETS);
  private readonly errors = new Float64Array(BUCKETS);
  private readonly hist = new Uint32Array(BUCKETS * BINS);

  constructor(readonly windowMs: number) {
    this.bucketMs = Math.max(1000, Math.ceil(windowMs / BUCKETS));
  }

  private slot(now: number): number {
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    const i = Math.floor(start / this.bucketMs) % BUCKETS;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.counts[i] = 0;
      this.errors[i] = 0;
      this.hist.fill(0, i * BINS, (i + 1) * BINS);
    }
    return i;
  }

  record(now: number, latencyMs: number, failed: boolean): void {
    const i = this.slot(now);
    this.counts[i] = (this.counts[i] as number) + 1;
    if (failed) this.errors[i] = (this.errors[i] as number) + 1;
    const h = i * BINS + binOf(latencyMs);
    this.hist[h] = (this.hist[h] as number) + 1;
  }

  stats(now: number): WindowStats {
    const oldest = now - this.windowMs;
    let requests = 0;
    let errors = 0;
    const merged = new Float64Array(BINS);
    for (let i = 0; i < BUCKETS; i++) {
      const start = this.starts[i] as number;
      if (start < 0 || start + this.bucketMs <= oldest || start > now) continue;
      requests += this.counts[i] as number;
      errors += this.errors[i] as number;
      for (let b = 0; b < BINS; b++) merged[b] = (merged[b] as number) + (this.hist[i * BINS + b] as number);
    }
    let p99Ms = 0;
    if (requests > 0) {
      const rank = Math.ceil(requests * 0.99);
      let seen = 0;
      for (let b = 0; b < BINS; b++) {
        seen += merged[b] as number;
        if (seen >= rank) {
          p99Ms = binUpper(b);
          break;
        }
      }
    }
    return { requests, errors, errorRate: requests ? errors / requests : 0, p99Ms };
  }
}
