// Cross-validation: fit on each training part, score on its validation part, keep the
// out-of-fold predictions, and summarise each metric across folds.
import { FalajError } from '../../core/errors.js';
import type { Predictor, Task } from '../estimator.js';
import { type ClassTarget, type Target, type TrainingData, takeData } from '../frame.js';
import { evaluate, type Metrics, scalarMetrics } from '../metrics/index.js';
import { kFold, type Split, stratifiedKFold } from './splits.js';

export interface FoldResult {
  readonly fold: number;
  readonly trainRows: number;
  readonly validRows: number;
  readonly metrics: Metrics;
}

export interface CrossValidationResult {
  readonly task: Task;
  /** Class names in target order (the columns of `oof`), empty for regression. */
  readonly classes: readonly string[];
  readonly folds: readonly FoldResult[];
  /** Mean of each scalar metric across folds. */
  readonly mean: Record<string, number>;
  /** Sample standard deviation (ddof = 1) across folds; NaN with a single fold. */
  readonly std: Record<string, number>;
  /**
   * Out-of-fold predictions, row-major nRows × nOutputs in the data's row order; NaN for
   * rows that are in no validation part (for instance the first block of time splits).
   */
  readonly oof: Float64Array;
  /** Metrics of the pooled out-of-fold predictions over the covered rows. */
  readonly pooled: Metrics;
}

export interface CrossValidateOptions {
  readonly data: TrainingData;
  readonly folds: readonly Split[];
  readonly fit: (train: TrainingData, valid: TrainingData, fold: number) => Promise<Predictor> | Predictor;
  readonly onFold?: (result: FoldResult) => void | Promise<void>;
}

/** The task a target implies: two classes → binary, more → multiclass, numbers → regression. */
export function taskOf(target: Target): Task {
  if (target.kind === 'regression') return 'regression';
  return target.classes.length === 2 ? 'binary' : 'multiclass';
}

/** Stratified k-fold for a class target, shuffled k-fold for a numeric one. */
export function defaultFolds(data: TrainingData, k: number, seed: number): Split[] {
  return data.target.kind === 'classification'
    ? stratifiedKFold({ labels: data.target.labels, k, seed })
    : kFold({ nRows: data.features.nRows, k, seed });
}

/**
 * Predictions of `model` laid out in the target's class order: a model fitted on a fold
 * that lacked some class has no column for it, and that class gets probability 0.
 */
function alignColumns(pred: Float64Array, model: Predictor, target: Target, rows: number): Float64Array {
  if (target.kind === 'regression') {
    if (pred.length !== rows) {
      throw new FalajError(
        'FALAJ_MODEL_INVALID',
        `the model returned ${pred.length} predictions for ${rows} rows`,
        {
          expected: rows,
        },
      );
    }
    return pred;
  }
  const k = target.classes.length;
  const mk = model.classes.length;
  if (pred.length !== rows * mk) {
    throw new FalajError(
      'FALAJ_MODEL_INVALID',
      `the model returned ${pred.length} values for ${rows} rows × ${mk} classes`,
      {
        expected: rows * mk,
      },
    );
  }
  const same = mk === k && model.classes.every((c, i) => c === target.classes[i]);
  if (same) return pred;
  const where = model.classes.map((c) => {
    const j = (target as ClassTarget).classes.indexOf(c);
    if (j < 0) {
      throw new FalajError(
        'FALAJ_MODEL_INVALID',
        `the model predicts class '${c}', which target '${target.name}' does not have`,
        {
          column: target.name,
          class: c,
        },
      );
    }
    return j;
  });
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++)
    for (let c = 0; c < mk; c++) out[i * k + (where[c] as number)] = pred[i * mk + c] as number;
  return out;
}

function meanStd(values: number[]): { mean: number; std: number } {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean: m, std: Number.NaN };
  const ss = values.reduce((a, b) => a + (b - m) * (b - m), 0);
  return { mean: m, std: Math.sqrt(ss / (values.length - 1)) };
}

/**
 * Runs `fit` on every fold in turn and scores it with `evaluate`. Validation parts must not
 * overlap (each row has at most one out-of-fold prediction).
 */
export async function crossValidate(options: CrossValidateOptions): Promise<CrossValidationResult> {
  const { data, folds, fit: trainFold } = options;
  const n = data.features.nRows;
  const task = taskOf(data.target);
  const width = data.target.kind === 'classification' ? data.target.classes.length : 1;
  if (folds.length === 0)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'cross-validation needs at least one fold', {
      parameter: 'folds',
    });
  const owner = new Int32Array(n).fill(-1);
  folds.forEach((split, f) => {
    for (const r of split.valid) {
      if (r < 0 || r >= n)
        throw new FalajError('FALAJ_INVALID_ARGUMENT', `fold ${f + 1} names row ${r + 1} of ${n}`, {
          parameter: 'folds',
        });
      if (owner[r] !== -1) {
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          `row ${r + 1} is validated in both fold ${(owner[r] as number) + 1} and fold ${f + 1}`,
          {
            parameter: 'folds',
            row: r + 1,
          },
        );
      }
      owner[r] = f;
    }
  });
  const oof = new Float64Array(n * width).fill(Number.NaN);
  const results: FoldResult[] = [];
  for (const [f, split] of folds.entries()) {
    const train = takeData(data, split.train);
    const valid = takeData(data, split.valid);
    const model = await trainFold(train, valid, f);
    const pred = alignColumns(model.predict(valid.features), model, data.target, split.valid.length);
    split.valid.forEach((r, i) => {
      oof.set(pred.subarray(i * width, (i + 1) * width), r * width);
    });
    const result: FoldResult = {
      fold: f,
      trainRows: split.train.length,
      validRows: split.valid.length,
      metrics: evaluate(task, valid.target, pred, valid.weights),
    };
    results.push(result);
    if (options.onFold) await options.onFold(result);
  }
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const scalars = results.map((r) => scalarMetrics(r.metrics));
  for (const key of Object.keys(scalars[0] ?? {})) {
    const s = meanStd(scalars.map((m) => m[key] as number));
    mean[key] = s.mean;
    std[key] = s.std;
  }
  const covered: number[] = [];
  for (let i = 0; i < n; i++) if (owner[i] !== -1) covered.push(i);
  const pooledData = takeData(data, covered);
  const pooledPred = new Float64Array(covered.length * width);
  covered.forEach((r, i) => {
    pooledPred.set(oof.subarray(r * width, (r + 1) * width), i * width);
  });
  const pooled = evaluate(task, pooledData.target, pooledPred, pooledData.weights);
  return {
    task,
    classes: data.target.kind === 'classification' ? data.target.classes : [],
    folds: results,
    mean,
    std,
    oof,
    pooled,
  };
}
