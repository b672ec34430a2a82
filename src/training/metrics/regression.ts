// Regression metrics, all with optional per-row weights (weighted means throughout).
import { checkLengths, type Numbers, weightAt } from './weights.js';

/**
 * Smallest denominator of MAPE: the float64 machine epsilon, as scikit-learn's
 * mean_absolute_percentage_error uses max(|y|, eps), so a zero target gives a huge but finite
 * term instead of Infinity.
 */
export const MAPE_EPS = Number.EPSILON;

function weightedMean(
  name: string,
  yTrue: Numbers,
  yPred: Numbers,
  weights: Numbers | undefined,
  term: (t: number, p: number) => number,
): number {
  const n = yTrue.length;
  checkLengths(name, n, { yPred, weights });
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(weights, i);
    sum += w * term(yTrue[i] as number, yPred[i] as number);
    total += w;
  }
  return total > 0 ? sum / total : Number.NaN;
}

export function meanSquaredError(yTrue: Numbers, yPred: Numbers, weights?: Numbers): number {
  return weightedMean('mse', yTrue, yPred, weights, (t, p) => (t - p) * (t - p));
}

export function rmse(yTrue: Numbers, yPred: Numbers, weights?: Numbers): number {
  return Math.sqrt(meanSquaredError(yTrue, yPred, weights));
}

export function mae(yTrue: Numbers, yPred: Numbers, weights?: Numbers): number {
  return weightedMean('mae', yTrue, yPred, weights, (t, p) => Math.abs(t - p));
}

/** Mean absolute percentage error as a fraction (0.1 = 10 %), denominators max(|y|, MAPE_EPS). */
export function mape(yTrue: Numbers, yPred: Numbers, weights?: Numbers): number {
  return weightedMean(
    'mape',
    yTrue,
    yPred,
    weights,
    (t, p) => Math.abs(t - p) / Math.max(Math.abs(t), MAPE_EPS),
  );
}

/**
 * Coefficient of determination 1 − SS_res / SS_tot around the weighted mean. A constant
 * target (SS_tot = 0) gives 1 for a perfect prediction and 0 otherwise, as scikit-learn's
 * force_finite=True.
 */
export function r2(yTrue: Numbers, yPred: Numbers, weights?: Numbers): number {
  const n = yTrue.length;
  checkLengths('r2', n, { yPred, weights });
  let total = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(weights, i);
    total += w;
    mean += w * (yTrue[i] as number);
  }
  if (total <= 0) return Number.NaN;
  mean /= total;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(weights, i);
    const t = yTrue[i] as number;
    const d = t - (yPred[i] as number);
    ssRes += w * d * d;
    ssTot += w * (t - mean) * (t - mean);
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}
