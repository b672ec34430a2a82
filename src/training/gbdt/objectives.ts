// Loss functions: initial raw score, gradients/hessians of the loss in the raw score, the loss
// itself (weighted mean) and, for absolute error, the leaf value refit. Raw scores are laid out
// class-major: raw[k * nRows + row] for output k (one output except multiclass).
import type { Target } from '../frame.js';
import type { GbdtObjective } from './params.js';

export type Link = 'logistic' | 'softmax' | 'identity';

export interface Objective {
  readonly name: GbdtObjective;
  readonly nOutputs: number;
  readonly link: Link;
  /** Raw score every row starts from, per output. */
  initScores(): Float64Array;
  /** Fills g and h (class-major, weighted) at `raw` and returns the weighted mean loss at `raw`. */
  gradients(raw: Float64Array, g: Float64Array, h: Float64Array): number;
  /** The weighted mean loss at `raw`. */
  loss(raw: Float64Array): number;
  /**
   * Optional exact leaf value (before shrinkage) for the rows rows[start..end) of output k;
   * absolute error uses the residual median, which a Newton step on signs approximates badly.
   */
  refitLeaf?(rows: Uint32Array, start: number, end: number, raw: Float64Array): number;
}

const EPS = 1e-15;

/** Median of values[i] weighted by w[i] (lower median on ties of cumulative weight). */
export function weightedMedian(values: Float64Array, w: Float64Array | undefined): number {
  const n = values.length;
  if (n === 0) return 0;
  if (!w) {
    const s = Float64Array.from(values).sort();
    return s[(n - 1) >>> 1] as number;
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i] as number;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const j = order[i] as number;
    acc += w[j] as number;
    if (acc >= total / 2) return values[j] as number;
  }
  return values[order[n - 1] as number] as number;
}

function weightSum(w: Float64Array | undefined, n: number): number {
  if (!w) return n;
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i] as number;
  return s;
}

class BinaryLogLoss implements Objective {
  readonly name = 'binary' as const;
  readonly nOutputs = 1;
  readonly link = 'logistic' as const;
  private readonly wsum: number;
  constructor(
    private readonly y: Int32Array,
    private readonly w: Float64Array | undefined,
  ) {
    this.wsum = weightSum(w, y.length);
  }
  initScores(): Float64Array {
    const { y, w } = this;
    let pos = 0;
    for (let i = 0; i < y.length; i++) if (y[i] === 1) pos += w ? (w[i] as number) : 1;
    const p = Math.min(1 - EPS, Math.max(EPS, pos / this.wsum));
    return Float64Array.of(Math.log(p / (1 - p)));
  }
  gradients(raw: Float64Array, g: Float64Array, h: Float64Array): number {
    const { y, w } = this;
    const n = y.length;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const f = raw[i] as number;
      // One exp serves the probability and a stable log(1 + e^-|f|).
      const e = Math.exp(-Math.abs(f));
      const p = f >= 0 ? 1 / (1 + e) : e / (1 + e);
      const yi = y[i] as number;
      const wi = w ? (w[i] as number) : 1;
      g[i] = wi * (p - yi);
      h[i] = wi * Math.max(p * (1 - p), 1e-16);
      loss += wi * (Math.log1p(e) + Math.max(f, 0) - yi * f);
    }
    return loss / this.wsum;
  }
  loss(raw: Float64Array): number {
    const { y, w } = this;
    let loss = 0;
    for (let i = 0; i < y.length; i++) {
      const f = raw[i] as number;
      const l = Math.log1p(Math.exp(-Math.abs(f))) + Math.max(f, 0) - (y[i] as number) * f;
      loss += w ? (w[i] as number) * l : l;
    }
    return loss / this.wsum;
  }
}

class SoftmaxLoss implements Objective {
  readonly name = 'multiclass' as const;
  readonly link = 'softmax' as const;
  private readonly wsum: number;
  private readonly p: Float64Array;
  constructor(
    private readonly y: Int32Array,
    private readonly w: Float64Array | undefined,
    readonly nOutputs: number,
  ) {
    this.wsum = weightSum(w, y.length);
    this.p = new Float64Array(nOutputs);
  }
  initScores(): Float64Array {
    const { y, w, nOutputs: k } = this;
    const counts = new Float64Array(k);
    for (let i = 0; i < y.length; i++) {
      const c = y[i] as number;
      counts[c] = (counts[c] as number) + (w ? (w[i] as number) : 1);
    }
    return counts.map((c) => Math.log(Math.max(c / this.wsum, EPS)));
  }
  /** Fills this.p with the softmax of row i and returns log(sum exp) (for the loss). */
  private softmax(raw: Float64Array, i: number, n: number): number {
    const { p, nOutputs: k } = this;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) max = Math.max(max, raw[c * n + i] as number);
    let s = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp((raw[c * n + i] as number) - max);
      p[c] = e;
      s += e;
    }
    for (let c = 0; c < k; c++) p[c] = (p[c] as number) / s;
    return max + Math.log(s);
  }
  gradients(raw: Float64Array, g: Float64Array, h: Float64Array): number {
    const { y, w, p, nOutputs: k } = this;
    const n = y.length;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const lse = this.softmax(raw, i, n);
      const yi = y[i] as number;
      const wi = w ? (w[i] as number) : 1;
      for (let c = 0; c < k; c++) {
        const pc = p[c] as number;
        g[c * n + i] = wi * (pc - (c === yi ? 1 : 0));
        h[c * n + i] = wi * Math.max(pc * (1 - pc), 1e-16);
      }
      loss += wi * (lse - (raw[yi * n + i] as number));
    }
    return loss / this.wsum;
  }
  loss(raw: Float64Array): number {
    const { y, w } = this;
    const n = y.length;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const l = this.softmax(raw, i, n) - (raw[(y[i] as number) * n + i] as number);
      loss += w ? (w[i] as number) * l : l;
    }
    return loss / this.wsum;
  }
}

class RegressionLoss implements Objective {
  readonly nOutputs = 1;
  readonly link = 'identity' as const;
  private readonly wsum: number;
  constructor(
    readonly name: 'squared_error' | 'absolute_error' | 'huber',
    private readonly y: Float64Array,
    private readonly w: Float64Array | undefined,
    private readonly delta: number,
  ) {
    this.wsum = weightSum(w, y.length);
    if (name === 'absolute_error') this.refitLeaf = this.medianLeaf;
  }
  refitLeaf?: (rows: Uint32Array, start: number, end: number, raw: Float64Array) => number;
  initScores(): Float64Array {
    const { y, w } = this;
    if (this.name !== 'squared_error') return Float64Array.of(weightedMedian(y, w));
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (w ? (w[i] as number) : 1) * (y[i] as number);
    return Float64Array.of(s / this.wsum);
  }
  gradients(raw: Float64Array, g: Float64Array, h: Float64Array): number {
    const { y, w, delta } = this;
    let loss = 0;
    for (let i = 0; i < y.length; i++) {
      const r = (raw[i] as number) - (y[i] as number);
      const wi = w ? (w[i] as number) : 1;
      let gi: number;
      let li: number;
      if (this.name === 'squared_error') {
        gi = r;
        li = r * r;
      } else if (this.name === 'absolute_error') {
        gi = r > 0 ? 1 : r < 0 ? -1 : 0;
        li = Math.abs(r);
      } else {
        const a = Math.abs(r);
        gi = a <= delta ? r : r > 0 ? delta : -delta;
        li = a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
      }
      g[i] = wi * gi;
      // Unit hessian: exact for squared error, and for huber an upper bound of the curvature,
      // so a shrunk Newton step never raises the loss.
      h[i] = wi;
      loss += wi * li;
    }
    return loss / this.wsum;
  }
  loss(raw: Float64Array): number {
    const { y, w, delta } = this;
    let loss = 0;
    for (let i = 0; i < y.length; i++) {
      const r = (raw[i] as number) - (y[i] as number);
      const a = Math.abs(r);
      const l =
        this.name === 'squared_error'
          ? r * r
          : this.name === 'absolute_error'
            ? a
            : a <= delta
              ? 0.5 * r * r
              : delta * (a - 0.5 * delta);
      loss += w ? (w[i] as number) * l : l;
    }
    return loss / this.wsum;
  }
  private medianLeaf(rows: Uint32Array, start: number, end: number, raw: Float64Array): number {
    const { y, w } = this;
    const m = end - start;
    const res = new Float64Array(m);
    const ws = w ? new Float64Array(m) : undefined;
    for (let j = 0; j < m; j++) {
      const r = rows[start + j] as number;
      res[j] = (y[r] as number) - (raw[r] as number);
      if (ws && w) ws[j] = w[r] as number;
    }
    return weightedMedian(res, ws);
  }
}

/** The objective for a target (multiclass takes its output count from the classes). */
export function makeObjective(
  name: GbdtObjective,
  target: Target,
  weights: Float64Array | undefined,
  huberDelta: number,
): Objective {
  if (target.kind === 'classification') {
    if (name === 'binary') return new BinaryLogLoss(target.labels, weights);
    return new SoftmaxLoss(target.labels, weights, target.classes.length);
  }
  if (name === 'binary' || name === 'multiclass')
    throw new Error('classification objective on a regression target');
  return new RegressionLoss(name, target.values, weights, huberDelta);
}
