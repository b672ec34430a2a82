// Threshold-free ranking metrics: ROC AUC and average precision (PR AUC), binary and
// one-vs-rest. Both walk the rows once in descending score order, treating rows with equal
// scores as one threshold, which is what makes ties count as half (AUC) or as one step (AP).
import { FalajError } from '../../core/errors.js';
import { checkLengths, columnOf, type Numbers, weightAt } from './weights.js';

/** Row indices sorted by descending score; ties keep row order (the result never depends on it). */
function descendingOrder(metric: string, scores: Numbers): Uint32Array {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `${metric}: score of row ${i + 1} is NaN`, {
        metric,
        row: i + 1,
      });
    }
    order[i] = i;
  }
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return order;
}

/**
 * Binary ROC AUC: the probability that a random positive outscores a random negative, ties
 * counting one half (the Mann–Whitney form, identical to the trapezoid area under the ROC
 * curve). `positive[i]` is 1 for a positive row, 0 otherwise. NaN when a class is absent.
 */
export function rocAuc(positive: Numbers, scores: Numbers, weights?: Numbers): number {
  const n = positive.length;
  checkLengths('rocAuc', n, { scores, weights });
  const order = descendingOrder('rocAuc', scores);
  let posAbove = 0;
  let area = 0;
  let totalPos = 0;
  let totalNeg = 0;
  let i = 0;
  while (i < n) {
    const s = scores[order[i] as number] as number;
    let gPos = 0;
    let gNeg = 0;
    while (i < n && scores[order[i] as number] === s) {
      const r = order[i] as number;
      const w = weightAt(weights, r);
      if (positive[r] === 1) gPos += w;
      else gNeg += w;
      i++;
    }
    // Negatives in this group lose to every positive above and tie with those beside them.
    area += gNeg * (posAbove + 0.5 * gPos);
    posAbove += gPos;
    totalPos += gPos;
    totalNeg += gNeg;
  }
  if (totalPos === 0 || totalNeg === 0) return Number.NaN;
  return area / (totalPos * totalNeg);
}

/**
 * Average precision, scikit-learn's definition of PR AUC: AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the
 * distinct score thresholds in descending order (a step function, no interpolation).
 * NaN when there are no positives.
 */
export function averagePrecision(positive: Numbers, scores: Numbers, weights?: Numbers): number {
  const n = positive.length;
  checkLengths('averagePrecision', n, { scores, weights });
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (positive[i] === 1) totalPos += weightAt(weights, i);
  if (totalPos === 0) return Number.NaN;
  const order = descendingOrder('averagePrecision', scores);
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = 0;
  while (i < n) {
    const s = scores[order[i] as number] as number;
    while (i < n && scores[order[i] as number] === s) {
      const r = order[i] as number;
      const w = weightAt(weights, r);
      if (positive[r] === 1) tp += w;
      else fp += w;
      i++;
    }
    const rec = tp / totalPos;
    const prec = tp + fp > 0 ? tp / (tp + fp) : 0;
    ap += (rec - prevRecall) * prec;
    prevRecall = rec;
  }
  return ap;
}

/**
 * One-vs-rest macro average of a binary ranking metric over `nClasses` columns of row-major
 * probabilities. Classes with no positive or no negative rows are left out of the mean
 * (scikit-learn raises there; a small fold may legitimately miss a rare class).
 */
function oneVsRestMacro(
  metric: (positive: Numbers, scores: Numbers, weights?: Numbers) => number,
  labels: Numbers,
  probs: Numbers,
  nClasses: number,
  weights?: Numbers,
): number {
  const n = labels.length;
  checkLengths('oneVsRest', n * nClasses, { probs });
  let sum = 0;
  let count = 0;
  const positive = new Uint8Array(n);
  for (let c = 0; c < nClasses; c++) {
    for (let i = 0; i < n; i++) positive[i] = labels[i] === c ? 1 : 0;
    const v = metric(positive, columnOf(probs, nClasses, c), weights);
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  return count > 0 ? sum / count : Number.NaN;
}

/** Multiclass ROC AUC, one-vs-rest, macro average (scikit-learn's multi_class='ovr'). */
export function rocAucOvr(labels: Numbers, probs: Numbers, nClasses: number, weights?: Numbers): number {
  return oneVsRestMacro(rocAuc, labels, probs, nClasses, weights);
}

/** Multiclass average precision, one-vs-rest, macro average. */
export function averagePrecisionOvr(
  labels: Numbers,
  probs: Numbers,
  nClasses: number,
  weights?: Numbers,
): number {
  return oneVsRestMacro(averagePrecision, labels, probs, nClasses, weights);
}
