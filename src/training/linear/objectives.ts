// Smooth parts of the linear-model objectives on an encoded design (dense standardised
// numerics plus the index of each row's one-hot 1 per categorical column):
//   (1/W) Σᵢ wᵢ ℓ(yᵢ, zᵢ) + (l2/2)‖β‖²,  zᵢₖ = xᵢ·βₖ + bₖ,
// with ℓ the logistic, softmax cross-entropy or half squared error. Parameters are laid out
// per output k as [βₖ₁ … βₖₚ, bₖ]; intercepts bₖ are never penalised.
import type { EncodedDesign } from '../preprocess/index.js';
import type { ObjectiveFn } from './lbfgs.js';

export type LossKind = 'logistic' | 'softmax' | 'squared';

export interface Problem {
  readonly loss: LossKind;
  readonly design: EncodedDesign;
  /** Outputs: 1 for logistic and squared, the number of classes for softmax. */
  readonly k: number;
  /** Class index (logistic: 0/1) or the regression target. */
  readonly y: Float64Array | Int32Array;
  /** Row weights normalised to sum to 1. */
  readonly w: Float64Array;
  readonly l2: number;
}

/** Which parameters carry a penalty (1) — every coefficient, no intercept. */
export function penaltyMask(p: number, k: number): Uint8Array {
  const mask = new Uint8Array(k * (p + 1));
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) mask[c * (p + 1) + j] = 1;
  return mask;
}

/** log(1 + eᶻ) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export function makeObjective(prob: Problem): ObjectiveFn {
  const { loss, design, k, y, w, l2 } = prob;
  const n = design.nRows;
  const p = design.width;
  const q = design.numericPositions.length;
  const m = design.categoricalCount;
  const x = design.numeric;
  const pos = design.numericPositions;
  const active = design.active;
  const stride = p + 1;
  if (k === 1 && loss !== 'softmax') return makeSingleOutput(prob);
  const z = new Float64Array(k);
  const r = new Float64Array(k);
  return (theta, grad) => {
    grad.fill(0);
    let f = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i] as number;
      if (wi === 0) continue;
      const row = i * q;
      const arow = i * m;
      for (let c = 0; c < k; c++) {
        const base = c * stride;
        let s = theta[base + p] as number;
        for (let j = 0; j < q; j++)
          s += (theta[base + (pos[j] as number)] as number) * (x[row + j] as number);
        for (let j = 0; j < m; j++) {
          const a = active[arow + j] as number;
          if (a >= 0) s += theta[base + a] as number;
        }
        z[c] = s;
      }
      if (loss === 'logistic') {
        const zi = z[0] as number;
        const yi = y[i] as number;
        f += wi * (softplus(zi) - yi * zi);
        r[0] = wi * (1 / (1 + Math.exp(-zi)) - yi);
      } else if (loss === 'squared') {
        const d = (z[0] as number) - (y[i] as number);
        f += wi * 0.5 * d * d;
        r[0] = wi * d;
      } else {
        let zMax = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) if ((z[c] as number) > zMax) zMax = z[c] as number;
        let sum = 0;
        for (let c = 0; c < k; c++) {
          const e = Math.exp((z[c] as number) - zMax);
          r[c] = e;
          sum += e;
        }
        const yi = y[i] as number;
        f += wi * (zMax + Math.log(sum) - (z[yi] as number));
        for (let c = 0; c < k; c++) r[c] = wi * ((r[c] as number) / sum - (c === yi ? 1 : 0));
      }
      for (let c = 0; c < k; c++) {
        const rc = r[c] as number;
        if (rc === 0) continue;
        const base = c * stride;
        for (let j = 0; j < q; j++) {
          const g = base + (pos[j] as number);
          grad[g] = (grad[g] as number) + rc * (x[row + j] as number);
        }
        for (let j = 0; j < m; j++) {
          const a = active[arow + j] as number;
          if (a >= 0) grad[base + a] = (grad[base + a] as number) + rc;
        }
        grad[base + p] = (grad[base + p] as number) + rc;
      }
    }
    if (l2 > 0) {
      for (let c = 0; c < k; c++) {
        const base = c * stride;
        for (let j = 0; j < p; j++) {
          const b = theta[base + j] as number;
          f += 0.5 * l2 * b * b;
          grad[base + j] = (grad[base + j] as number) + l2 * b;
        }
      }
    }
    return f;
  };
}

/**
 * The one-output case (binary logistic, squared error) without the per-class buffers: the
 * hot loop of most fits, kept monomorphic and branch-light.
 */
function makeSingleOutput(prob: Problem): ObjectiveFn {
  const { loss, design, y, w, l2 } = prob;
  const n = design.nRows;
  const p = design.width;
  const q = design.numericPositions.length;
  const m = design.categoricalCount;
  const x = design.numeric;
  const pos = design.numericPositions;
  const active = design.active;
  const logistic = loss === 'logistic';
  const beta = new Float64Array(q);
  const gNum = new Float64Array(q);
  return (theta, grad) => {
    grad.fill(0);
    gNum.fill(0);
    for (let j = 0; j < q; j++) beta[j] = theta[pos[j] as number] as number;
    const b = theta[p] as number;
    let f = 0;
    let gB = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i] as number;
      if (wi === 0) continue;
      const row = i * q;
      let zi = b;
      for (let j = 0; j < q; j++) zi += (beta[j] as number) * (x[row + j] as number);
      const arow = i * m;
      for (let j = 0; j < m; j++) {
        const a = active[arow + j] as number;
        if (a >= 0) zi += theta[a] as number;
      }
      const yi = y[i] as number;
      let ri: number;
      if (logistic) {
        const e = Math.exp(-Math.abs(zi));
        // log(1 + e^z) − y·z, and σ(z) − y, both from e = exp(−|z|) (no overflow).
        f += wi * (Math.max(zi, 0) + Math.log1p(e) - yi * zi);
        ri = wi * ((zi >= 0 ? 1 / (1 + e) : e / (1 + e)) - yi);
      } else {
        const d = zi - yi;
        f += wi * 0.5 * d * d;
        ri = wi * d;
      }
      gB += ri;
      for (let j = 0; j < q; j++) gNum[j] = (gNum[j] as number) + ri * (x[row + j] as number);
      for (let j = 0; j < m; j++) {
        const a = active[arow + j] as number;
        if (a >= 0) grad[a] = (grad[a] as number) + ri;
      }
    }
    for (let j = 0; j < q; j++) grad[pos[j] as number] = gNum[j] as number;
    grad[p] = gB;
    if (l2 > 0) {
      for (let j = 0; j < p; j++) {
        const bj = theta[j] as number;
        f += 0.5 * l2 * bj * bj;
        grad[j] = (grad[j] as number) + l2 * bj;
      }
    }
    return f;
  };
}
