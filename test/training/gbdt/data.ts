// Small synthetic data sets and metrics shared by the GBDT tests.
import type { Column, Frame, TrainingData } from '../../../src/training/frame.js';
import { Random } from '../../../src/training/random.js';

export function numeric(name: string, values: number[] | Float64Array): Column {
  return { kind: 'numeric', name, values: Float64Array.from(values) };
}

export function categorical(name: string, codes: number[], levels: string[]): Column {
  return { kind: 'categorical', name, codes: Int32Array.from(codes), levels };
}

export function frame(...columns: Column[]): Frame {
  const c = columns[0];
  const nRows = !c ? 0 : c.kind === 'numeric' ? c.values.length : c.codes.length;
  return { nRows, columns };
}

export function binary(features: Frame, labels: number[] | Int32Array, weights?: number[]): TrainingData {
  const d: TrainingData = {
    features,
    target: { kind: 'classification', name: 'y', classes: ['no', 'yes'], labels: Int32Array.from(labels) },
  };
  return weights ? { ...d, weights: Float64Array.from(weights) } : d;
}

export function regression(
  features: Frame,
  values: number[] | Float64Array,
  weights?: number[],
): TrainingData {
  const d: TrainingData = {
    features,
    target: { kind: 'regression', name: 'y', values: Float64Array.from(values) },
  };
  return weights ? { ...d, weights: Float64Array.from(weights) } : d;
}

/** A nonlinear binary problem: the label follows x0·x1 > 0 (XOR of signs) and sin(2·x2), with noise. */
export function nonlinear(n: number, seed: number, noise = 0.3): TrainingData {
  const rng = new Random(seed);
  const cols = Array.from({ length: 5 }, () => new Float64Array(n));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of cols) c[i] = rng.normal();
    const x0 = cols[0]?.[i] as number;
    const x1 = cols[1]?.[i] as number;
    const x2 = cols[2]?.[i] as number;
    labels[i] = 2 * x0 * x1 + Math.sin(2 * x2) + noise * rng.normal() > 0 ? 1 : 0;
  }
  return binary(frame(...cols.map((v, f) => numeric(`x${f}`, v))), labels);
}

/** A regression problem with a step, an interaction and noise. */
export function nonlinearRegression(n: number, seed: number): TrainingData {
  const rng = new Random(seed);
  const cols = Array.from({ length: 4 }, () => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of cols) c[i] = rng.normal();
    const x0 = cols[0]?.[i] as number;
    const x1 = cols[1]?.[i] as number;
    y[i] = (x0 > 0 ? 3 : -1) + x0 * x1 + 0.5 * rng.normal() + (rng.next() < 0.02 ? 20 * rng.normal() : 0);
  }
  return regression(frame(...cols.map((v, f) => numeric(`x${f}`, v))), y);
}

/** ROC AUC by the rank-sum formula with ties counted half. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        rankSum += rank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Column 1 of a row-major n×2 probability matrix. */
export function positive(p: Float64Array): Float64Array {
  const out = new Float64Array(p.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = p[2 * i + 1] as number;
  return out;
}
