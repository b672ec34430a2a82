// One call that scores a model's predictions against a target with the standard set of
// metrics; cross-validation, tuning, the CLI and training runs all report through it.
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import type { Target } from '../frame.js';
import { accuracy, confusionMatrix, precisionRecallF1 } from './classification.js';
import {
  brierScore,
  type CalibrationCurve,
  calibrationCurve,
  logLoss,
  topLabelCalibrationCurve,
} from './probabilistic.js';
import { averagePrecision, averagePrecisionOvr, rocAuc, rocAucOvr } from './ranking.js';
import { mae, mape, r2, rmse } from './regression.js';
import { argmaxLabels, columnOf, type Numbers } from './weights.js';

export interface ClassificationMetrics {
  /** ROC AUC: binary on classes[1]; multiclass one-vs-rest macro. */
  auc: number;
  logloss: number;
  accuracy: number;
  /** Binary: on the positive class classes[1]; multiclass: macro average. */
  precision: number;
  recall: number;
  f1: number;
  brier: number;
  /** Average precision (scikit-learn's definition); multiclass one-vs-rest macro. */
  prAuc: number;
  /** Rows = true class, columns = predicted (argmax) class, in `classes` order. */
  confusion: number[][];
  /** Binary: on p(classes[1]); multiclass: top-label confidence. Ten uniform bins. */
  calibration: CalibrationCurve;
  /** Multiclass only: support-weighted averages. */
  precisionWeighted?: number;
  recallWeighted?: number;
  f1Weighted?: number;
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
  mape: number;
}

export type Metrics = ClassificationMetrics | RegressionMetrics;

/** The metrics where a larger value is better; every other scalar metric is a loss. */
export const HIGHER_IS_BETTER: ReadonlySet<string> = new Set([
  'auc',
  'accuracy',
  'precision',
  'recall',
  'f1',
  'prAuc',
  'r2',
  'precisionWeighted',
  'recallWeighted',
  'f1Weighted',
]);

/** The number of prediction columns a task produces for `target`. */
export function outputCount(task: Task, target: Target): number {
  if (task === 'regression') return 1;
  return target.kind === 'classification' ? target.classes.length : 0;
}

function checkInputs(task: Task, target: Target, predictions: Numbers, weights?: Numbers): void {
  const n = target.kind === 'classification' ? target.labels.length : target.values.length;
  if (task === 'regression' && target.kind !== 'regression') {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `evaluate: task 'regression' needs a regression target, '${target.name}' is categorical`,
      {
        task,
        column: target.name,
      },
    );
  }
  if (task !== 'regression') {
    if (target.kind !== 'classification') {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `evaluate: task '${task}' needs a class target, '${target.name}' is numeric`,
        {
          task,
          column: target.name,
        },
      );
    }
    const k = target.classes.length;
    if ((task === 'binary') !== (k === 2)) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `evaluate: task '${task}' does not fit a target with ${k} classes`,
        {
          task,
          column: target.name,
          classes: k,
        },
      );
    }
  }
  const width = outputCount(task, target);
  if (predictions.length !== n * width) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `evaluate: ${predictions.length} predictions for ${n} rows × ${width} outputs`,
      { expected: n * width, actual: predictions.length },
    );
  }
  for (let i = 0; i < predictions.length; i++) {
    if (!Number.isFinite(predictions[i])) {
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `evaluate: prediction for row ${Math.floor(i / width) + 1} is not finite`,
        {
          row: Math.floor(i / width) + 1,
        },
      );
    }
  }
  if (weights !== undefined && weights.length !== n) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `evaluate: ${weights.length} weights for ${n} rows`, {
      parameter: 'weights',
    });
  }
}

/**
 * Scores row-major `predictions` (probabilities n × nClasses for classification, n × 1 for
 * regression, as Predictor.predict returns) against `target`. Predicted labels are the argmax
 * (the first class on ties, so p = 0.5 in a binary model predicts classes[0]).
 */
export function evaluate(task: Task, target: Target, predictions: Numbers, weights?: Numbers): Metrics {
  checkInputs(task, target, predictions, weights);
  if (target.kind === 'regression') {
    const y = target.values;
    return {
      rmse: rmse(y, predictions, weights),
      mae: mae(y, predictions, weights),
      r2: r2(y, predictions, weights),
      mape: mape(y, predictions, weights),
    };
  }
  const k = target.classes.length;
  const labels = target.labels;
  const predicted = argmaxLabels(predictions, k);
  const common = {
    logloss: logLoss(labels, predictions, k, weights),
    accuracy: accuracy(labels, predicted, weights),
    brier: brierScore(labels, predictions, k, weights),
    confusion: confusionMatrix(labels, predicted, k, weights),
  };
  if (k === 2) {
    const p1 = columnOf(predictions, 2, 1);
    const prf = precisionRecallF1(labels, predicted, 2, { average: 'binary', positive: 1, weights });
    return {
      auc: rocAuc(labels, p1, weights),
      ...common,
      ...prf,
      prAuc: averagePrecision(labels, p1, weights),
      calibration: calibrationCurve(labels, p1, 10, weights),
    };
  }
  const macro = precisionRecallF1(labels, predicted, k, { average: 'macro', weights });
  const weighted = precisionRecallF1(labels, predicted, k, { average: 'weighted', weights });
  return {
    auc: rocAucOvr(labels, predictions, k, weights),
    ...common,
    ...macro,
    prAuc: averagePrecisionOvr(labels, predictions, k, weights),
    calibration: topLabelCalibrationCurve(labels, predictions, k, 10, weights),
    precisionWeighted: weighted.precision,
    recallWeighted: weighted.recall,
    f1Weighted: weighted.f1,
  };
}

/** The scalar entries of a metrics object (what cross-validation averages across folds). */
export function scalarMetrics(m: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(m)) if (typeof value === 'number') out[key] = value;
  return out;
}
