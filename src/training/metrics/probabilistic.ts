// Metrics of predicted probabilities: log loss, Brier score, calibration curve.
import { FalajError } from '../../core/errors.js';
import { argmaxRow, checkLengths, type Numbers, weightAt } from './weights.js';

/**
 * Clip bound for log loss: the float64 machine epsilon, 2.220446049250313e-16, as
 * scikit-learn's eps='auto' does for float64 input. Probabilities are clipped to
 * [eps, 1 − eps] and not renormalised.
 */
export const LOG_LOSS_EPS = Number.EPSILON;

/**
 * Weighted mean negative log-likelihood of the true class, −Σ wᵢ log p(yᵢ) / Σ wᵢ, with `probs`
 * row-major n × nClasses (binary: two columns).
 */
export function logLoss(
  labels: Numbers,
  probs: Numbers,
  nClasses: number,
  weights?: Numbers,
  eps = LOG_LOSS_EPS,
): number {
  const n = labels.length;
  checkLengths('logLoss', n * nClasses, { probs });
  checkLengths('logLoss', n, { weights });
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(weights, i);
    const p = probs[i * nClasses + (labels[i] as number)] as number;
    if (Number.isNaN(p)) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `logLoss: probability of row ${i + 1} is NaN`, {
        row: i + 1,
      });
    }
    const clipped = Math.min(Math.max(p, eps), 1 - eps);
    sum -= w * Math.log(clipped);
    total += w;
  }
  return total > 0 ? sum / total : Number.NaN;
}

/**
 * Brier score. Binary (nClasses = 2): mean (p₁ − y)² on the positive class, scikit-learn's
 * brier_score_loss. Multiclass: mean Σₖ (pₖ − [y = k])², Brier's original definition (which
 * for two classes would be twice the binary figure).
 */
export function brierScore(labels: Numbers, probs: Numbers, nClasses: number, weights?: Numbers): number {
  const n = labels.length;
  checkLengths('brierScore', n * nClasses, { probs });
  checkLengths('brierScore', n, { weights });
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(weights, i);
    const y = labels[i] as number;
    let e = 0;
    if (nClasses === 2) {
      const d = (probs[i * 2 + 1] as number) - (y === 1 ? 1 : 0);
      e = d * d;
    } else {
      for (let c = 0; c < nClasses; c++) {
        const d = (probs[i * nClasses + c] as number) - (y === c ? 1 : 0);
        e += d * d;
      }
    }
    sum += w * e;
    total += w;
  }
  return total > 0 ? sum / total : Number.NaN;
}

export interface CalibrationCurve {
  /** Weighted mean predicted probability in each non-empty bin, in bin order. */
  meanPredicted: number[];
  /** Weighted fraction of positives in the same bins. */
  fractionPositive: number[];
  /** Summed weight (row count when unweighted) in the same bins. */
  counts: number[];
  /** Index (0..nBins−1) of each reported bin, so empty bins can be told apart. */
  bins: number[];
}

/**
 * Reliability curve with `nBins` uniform bins over [0, 1], as scikit-learn's
 * calibration_curve(strategy='uniform'): a probability p falls in the bin counting the inner
 * edges strictly below it (numpy searchsorted, side='left'), so an edge value belongs to the
 * lower bin; empty bins are dropped.
 */
export function calibrationCurve(
  positive: Numbers,
  prob: Numbers,
  nBins = 10,
  weights?: Numbers,
): CalibrationCurve {
  const n = positive.length;
  checkLengths('calibrationCurve', n, { prob, weights });
  if (!Number.isInteger(nBins) || nBins < 1) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `calibrationCurve: nBins must be a positive integer, got ${nBins}`,
      {
        parameter: 'nBins',
      },
    );
  }
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  const sumW = new Float64Array(nBins);
  // Edges as numpy.linspace(0, 1, nBins + 1) computes them: index × step, not index / nBins.
  const step = 1 / nBins;
  const inner = Array.from({ length: nBins - 1 }, (_, j) => (j + 1) * step);
  for (let i = 0; i < n; i++) {
    const p = prob[i] as number;
    if (!(p >= 0 && p <= 1)) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `calibrationCurve: probability of row ${i + 1} is outside [0, 1]`,
        {
          row: i + 1,
          value: p,
        },
      );
    }
    // Count inner edges strictly below p; a first guess from the product, then corrected so
    // that floating-point rounding of the edges cannot misplace a value sitting on one.
    let b = Math.min(nBins - 1, Math.floor(p * nBins));
    while (b > 0 && (inner[b - 1] as number) >= p) b--;
    while (b < nBins - 1 && (inner[b] as number) < p) b++;
    const w = weightAt(weights, i);
    sumP[b] = (sumP[b] as number) + w * p;
    sumY[b] = (sumY[b] as number) + (positive[i] === 1 ? w : 0);
    sumW[b] = (sumW[b] as number) + w;
  }
  const out: CalibrationCurve = { meanPredicted: [], fractionPositive: [], counts: [], bins: [] };
  for (let b = 0; b < nBins; b++) {
    const w = sumW[b] as number;
    if (w <= 0) continue;
    out.meanPredicted.push((sumP[b] as number) / w);
    out.fractionPositive.push((sumY[b] as number) / w);
    out.counts.push(w);
    out.bins.push(b);
  }
  return out;
}

/**
 * Top-label calibration for multiclass models: the confidence (largest probability) of each
 * row against whether that top class was right, binned as calibrationCurve.
 */
export function topLabelCalibrationCurve(
  labels: Numbers,
  probs: Numbers,
  nClasses: number,
  nBins = 10,
  weights?: Numbers,
): CalibrationCurve {
  const n = labels.length;
  checkLengths('topLabelCalibrationCurve', n * nClasses, { probs });
  const conf = new Float64Array(n);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = argmaxRow(probs, i, nClasses);
    conf[i] = probs[i * nClasses + c] as number;
    correct[i] = c === labels[i] ? 1 : 0;
  }
  return calibrationCurve(correct, conf, nBins, weights);
}
