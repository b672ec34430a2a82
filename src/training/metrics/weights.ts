// Shared argument checks for the metric functions: every metric takes optional per-row
// weights, and a length mismatch must fail loudly rather than read past an array.
import { FalajError } from '../../core/errors.js';

export type Numbers = ArrayLike<number>;

/** Throws unless `arrays` all have length `n` (weights may be absent). */
export function checkLengths(metric: string, n: number, arrays: Record<string, Numbers | undefined>): void {
  for (const [name, a] of Object.entries(arrays)) {
    if (a !== undefined && a.length !== n) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `${metric}: '${name}' has ${a.length} entries where ${n} were expected`,
        { metric, parameter: name, expected: n, actual: a.length },
      );
    }
  }
}

/** The weight of row i (1 when unweighted). */
export function weightAt(weights: Numbers | undefined, i: number): number {
  return weights === undefined ? 1 : (weights[i] as number);
}

/** The index of the largest of `probs[row*k .. row*k+k)`; the first one on ties. */
export function argmaxRow(probs: Numbers, row: number, k: number): number {
  let best = 0;
  let bestValue = probs[row * k] as number;
  for (let j = 1; j < k; j++) {
    const v = probs[row * k + j] as number;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/** Predicted class per row from row-major probabilities (argmax, first class on ties). */
export function argmaxLabels(probs: Numbers, nClasses: number): Int32Array {
  const n = Math.floor(probs.length / nClasses);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = argmaxRow(probs, i, nClasses);
  return out;
}

/** Column `c` of a row-major matrix with `k` columns. */
export function columnOf(probs: Numbers, k: number, c: number): Float64Array {
  const n = Math.floor(probs.length / k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = probs[i * k + c] as number;
  return out;
}
