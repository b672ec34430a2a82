// Label-based classification metrics: confusion matrix, accuracy, precision, recall, F1.
// Definitions follow scikit-learn: a ratio with a zero denominator is 0 (its
// zero_division=0), and macro/weighted averages run over the classes that occur in the true
// or predicted labels, so a class absent from a fold does not count as a zero score.
import { FalajError } from '../../core/errors.js';
import { checkLengths, type Numbers, weightAt } from './weights.js';

export type Average = 'binary' | 'macro' | 'weighted';

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Confusion matrix, rows = true class, columns = predicted class (scikit-learn's layout);
 * cells hold summed weights (counts when unweighted).
 */
export function confusionMatrix(
  yTrue: Numbers,
  yPred: Numbers,
  nClasses: number,
  weights?: Numbers,
): number[][] {
  const n = yTrue.length;
  checkLengths('confusionMatrix', n, { yPred, weights });
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < n; i++) {
    const t = yTrue[i] as number;
    const p = yPred[i] as number;
    const row = m[t];
    if (row === undefined || p < 0 || p >= nClasses || !Number.isInteger(p)) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `confusionMatrix: row ${i + 1} has a label outside 0..${nClasses - 1}`,
        {
          row: i + 1,
          true: t,
          predicted: p,
        },
      );
    }
    row[p] = (row[p] as number) + weightAt(weights, i);
  }
  return m;
}

/** Weighted share of rows whose predicted label equals the true label. */
export function accuracy(yTrue: Numbers, yPred: Numbers, weights?: Numbers): number {
  const n = yTrue.length;
  checkLengths('accuracy', n, { yPred, weights });
  let hit = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weightAt(weights, i);
    total += w;
    if (yTrue[i] === yPred[i]) hit += w;
  }
  return total > 0 ? hit / total : Number.NaN;
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

function f1Of(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

/** Per-class precision, recall, F1 and support (summed true weight) from a confusion matrix. */
export function perClassScores(matrix: readonly (readonly number[])[]): {
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  predicted: number[];
} {
  const k = matrix.length;
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  const predicted: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = matrix[c]?.[c] ?? 0;
    let trueTotal = 0;
    let predTotal = 0;
    for (let j = 0; j < k; j++) {
      trueTotal += matrix[c]?.[j] ?? 0;
      predTotal += matrix[j]?.[c] ?? 0;
    }
    const p = ratio(tp, predTotal);
    const r = ratio(tp, trueTotal);
    precision.push(p);
    recall.push(r);
    f1.push(f1Of(p, r));
    support.push(trueTotal);
    predicted.push(predTotal);
  }
  return { precision, recall, f1, support, predicted };
}

/**
 * Precision, recall and F1. `binary` scores the class index `positive` (default 1, the
 * second sorted class); `macro` is the plain mean of per-class scores; `weighted` weights
 * them by support. F1 of an average is the average of per-class F1s (as scikit-learn).
 */
export function precisionRecallF1(
  yTrue: Numbers,
  yPred: Numbers,
  nClasses: number,
  options: { average?: Average; positive?: number; weights?: Numbers } = {},
): PrecisionRecallF1 {
  const average = options.average ?? (nClasses === 2 ? 'binary' : 'macro');
  const m = confusionMatrix(yTrue, yPred, nClasses, options.weights);
  const s = perClassScores(m);
  if (average === 'binary') {
    const c = options.positive ?? 1;
    if (c < 0 || c >= nClasses) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `precisionRecallF1: positive class ${c} is not in 0..${nClasses - 1}`,
        {
          parameter: 'positive',
        },
      );
    }
    return { precision: s.precision[c] as number, recall: s.recall[c] as number, f1: s.f1[c] as number };
  }
  let sumW = 0;
  let p = 0;
  let r = 0;
  let f = 0;
  for (let c = 0; c < nClasses; c++) {
    const sup = s.support[c] as number;
    // Only classes seen in the true or predicted labels take part (scikit-learn's labels=None).
    if (sup === 0 && s.predicted[c] === 0) continue;
    const w = average === 'weighted' ? sup : 1;
    sumW += w;
    p += w * (s.precision[c] as number);
    r += w * (s.recall[c] as number);
    f += w * (s.f1[c] as number);
  }
  if (sumW === 0) return { precision: 0, recall: 0, f1: 0 };
  return { precision: p / sumW, recall: r / sumW, f1: f / sumW };
}

export function precision(
  yTrue: Numbers,
  yPred: Numbers,
  nClasses: number,
  options?: { average?: Average; positive?: number; weights?: Numbers },
): number {
  return precisionRecallF1(yTrue, yPred, nClasses, options).precision;
}

export function recall(
  yTrue: Numbers,
  yPred: Numbers,
  nClasses: number,
  options?: { average?: Average; positive?: number; weights?: Numbers },
): number {
  return precisionRecallF1(yTrue, yPred, nClasses, options).recall;
}

export function f1Score(
  yTrue: Numbers,
  yPred: Numbers,
  nClasses: number,
  options?: { average?: Average; positive?: number; weights?: Numbers },
): number {
  return precisionRecallF1(yTrue, yPred, nClasses, options).f1;
}
