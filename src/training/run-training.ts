import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Task } from './estimator.js';
import { familyOfChoice, type ModelChoice } from './families/index.js';
import { takeData } from './frame.js';
import { inProcessTrial } from './in-process-trial.js';
import { loadTrainingData } from './load/index.js';
import { evaluate, scalarMetrics } from './metrics/index.js';
import { saveModel } from './model-file.js';
import { exportOnnx } from './onnx/index.js';
import { type TrialRecord, tune } from './tuning/index.js';
import { crossValidate, defaultFolds, holdoutSplit } from './validation/index.js';

/** What `falaj train`, the SDK and server-side training ask for. */
export interface TrainRequest {
  /** CSV or Parquet path. */
  data: string;
  target: string;
  features?: string[];
  exclude?: string[];
  weight?: string;
  model?: ModelChoice;
  /** k-fold cross-validation (stratified for classes); otherwise a hold-out of `holdout`. */
  cv?: number;
  /** Fraction held out for evaluation when `cv` is not set. Default 0.2. */
  holdout?: number;
  /** Tuning trials (0: none). */
  tune?: number;
  /** A search space (JSON form); default: the model family's `tuning.space`. */
  space?: unknown;
  sampler?: 'tpe' | 'random';
  pruner?: 'none' | 'median' | 'successive-halving';
  /** Fixed model parameters (GBDT options or linear alpha/l1Ratio/…). */
  params?: Record<string, unknown>;
  seed?: number;
  nThreads?: number;
  /** Model directory to write (native files and model.onnx). */
  out?: string;
}

/** Where training reports as it goes: a tracking run (and nested runs for trials), progress. */
export interface TrainObserver {
  progress?(phase: 'tune' | 'evaluate' | 'fit', done: number, total: number): void;
  logParams?(params: Record<string, string | number | boolean>): void;
  logMetric?(key: string, value: number, step?: number): void;
  trialComplete?(trial: TrialRecord, study: { direction: 'minimize'; metric: string }): Promise<void> | void;
}

export interface TrainResult {
  task: Task;
  model: ModelChoice;
  classes: readonly string[];
  rows: number;
  features: readonly string[];
  /** Held-out metrics, or the mean across folds with `cv`. */
  metrics: Record<string, number>;
  validation:
    | { kind: 'holdout'; fraction: number }
    | { kind: 'cv'; k: number; std: Record<string, number>; folds: Record<string, number>[] };
  params: Record<string, unknown>;
  tuning?: {
    trials: number;
    complete: number;
    pruned: number;
    failed: number;
    bestValue: number;
    metric: string;
    bestParams: Record<string, unknown>;
  };
  modelPath?: string;
  onnxPath?: string;
}

// The headline figures: what `--json` promises for each task.
const HEADLINE: Record<Task, string[]> = {
  binary: ['auc', 'logloss', 'accuracy'],
  multiclass: ['auc', 'logloss', 'accuracy'],
  regression: ['rmse', 'mae', 'r2'],
};

/**
 * Trials at once: gradient-boosted trees use every core themselves on large data (histograms
 * on worker threads), so trials run one at a time there; below that size, and for linear
 * models, trials run side by side. A study is reproducible for a given parallelism.
 */
function trialParallelism(usesAllCores: boolean): number {
  return usesAllCores ? 1 : Math.min(availableParallelism(), 4);
}

function oofCsv(oof: Float64Array, header: readonly string[]): string {
  const k = header.length;
  const lines = [['row', ...header].join(',')];
  for (let i = 0; i * k < oof.length; i++)
    lines.push([i, ...Array.from(oof.subarray(i * k, i * k + k))].join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * Loads the data, tunes (optional), evaluates by hold-out or cross-validation, fits the final
 * model on all rows and writes it. The final model is always refitted on every row; the
 * metrics reported are the held-out (or cross-validated) ones, never training-set figures.
 */
export async function runTraining(req: TrainRequest, observer: TrainObserver = {}): Promise<TrainResult> {
  const seed = req.seed ?? 0;
  const loaded = await loadTrainingData({
    path: req.data,
    target: req.target,
    ...(req.features ? { features: req.features } : {}),
    ...(req.exclude ? { exclude: req.exclude } : {}),
    ...(req.weight ? { weight: req.weight } : {}),
  });
  const { data, task } = loaded;
  const modelChoice = req.model ?? 'gbdt';
  const family = familyOfChoice(modelChoice, task, req.target);
  const threads = req.nThreads ? { nThreads: req.nThreads } : {};
  const n = data.features.nRows;
  const stratify = data.target.kind === 'classification' ? data.target.labels : undefined;
  let params: Record<string, unknown> = { ...(req.params ?? {}) };
  observer.logParams?.({
    model: modelChoice,
    target: req.target,
    rows: n,
    features: data.features.columns.length,
    seed,
    ...Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : (v as string)]),
    ),
  });

  let tuning: TrainResult['tuning'];
  if (req.tune && req.tune > 0) {
    const total = req.tune;
    const split = holdoutSplit({ nRows: n, validFraction: 0.2, seed, ...(stratify ? { stratify } : {}) });
    const metric = task === 'regression' ? 'valid_mse' : 'valid_logloss';
    const result = await tune({
      space: req.space ?? family.tuning.space,
      nTrials: total,
      sampler: req.sampler ?? 'tpe',
      pruner: req.pruner ?? 'none',
      seed,
      concurrency: trialParallelism(family.usesAllCores(n)),
      baseParams: { ...family.tuning.trialDefaults, ...params },
      runTrial: inProcessTrial({
        family,
        task,
        train: takeData(data, split.train),
        valid: takeData(data, split.valid),
        ...threads,
      }),
      onTrialComplete: async (t, done) => {
        observer.progress?.('tune', done, total);
        await observer.trialComplete?.(t, { direction: 'minimize', metric });
      },
    });
    params = { ...params, ...result.bestParams };
    tuning = {
      trials: result.trials.length,
      ...result.counts,
      bestValue: result.best.value as number,
      metric,
      bestParams: result.bestParams,
    };
  }

  let metrics: Record<string, number>;
  let validation: TrainResult['validation'];
  let oof: Float64Array | undefined;
  if (req.cv && req.cv > 1) {
    const k = req.cv;
    const cv = await crossValidate({
      data,
      folds: defaultFolds(data, k, seed),
      fit: (train) => family.fit(train, params, { seed, ...threads }),
      onFold: (f) => observer.progress?.('evaluate', f.fold + 1, k),
    });
    metrics = cv.mean;
    validation = { kind: 'cv', k, std: cv.std, folds: cv.folds.map((f) => scalarMetrics(f.metrics)) };
    oof = cv.oof;
  } else {
    const fraction = req.holdout ?? 0.2;
    const split = holdoutSplit({
      nRows: n,
      validFraction: fraction,
      seed,
      ...(stratify ? { stratify } : {}),
    });
    const valid = takeData(data, split.valid);
    const m = await family.fit(takeData(data, split.train), params, { seed, ...threads });
    observer.progress?.('evaluate', 1, 1);
    metrics = scalarMetrics(evaluate(task, valid.target, m.predict(valid.features), valid.weights));
    validation = { kind: 'holdout', fraction };
  }

  const final = await family.fit(data, params, {
    seed,
    ...threads,
    onRound: (round, info) => {
      observer.logMetric?.('train_loss', info.trainLoss, round);
      observer.progress?.('fit', round, Number(params.nRounds ?? 100));
    },
  });
  for (const key of Object.keys(metrics)) observer.logMetric?.(key, metrics[key] as number);

  const result: TrainResult = {
    task,
    model: modelChoice,
    classes: final.classes,
    rows: n,
    features: final.featureNames,
    metrics: Object.fromEntries(
      [...HEADLINE[task], ...Object.keys(metrics).filter((k) => !HEADLINE[task].includes(k))]
        .filter((k) => k in metrics)
        .map((k) => [k, metrics[k] as number]),
    ),
    validation,
    params,
    ...(tuning ? { tuning } : {}),
  };
  if (req.out) {
    const onnx = exportOnnx(final);
    const info = { metrics: result.metrics, validation, ...(tuning ? { tuning } : {}) };
    await saveModel(req.out, final, { info, onnx });
    // Out-of-fold predictions, kept for later evaluation (calibration, fairness, error analysis).
    if (oof)
      await writeFile(
        path.join(req.out, 'oof.csv'),
        oofCsv(oof, final.task === 'regression' ? ['prediction'] : final.classes.map((c) => `p_${c}`)),
      );
    result.modelPath = req.out;
    result.onnxPath = `${req.out}/model.onnx`;
  }
  return result;
}
