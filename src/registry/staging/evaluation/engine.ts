// Scoring a model's predictions on evaluation data: every metric the trainer reports (the same
// `evaluate` of src/training/metrics), the same metrics per slice of chosen columns, and the
// statistics core's fairness report for each sensitive column (binary models: demographic
// parity, equalized odds, the four-fifths rule). Pure: no store, no request.
import { FalajError } from '../../../core/errors.js';
import { computeFairness } from '../../../statistics/fairness-memory.js';
import type { FairnessReport } from '../../../statistics/fairness-types.js';
import type { Task } from '../../../training/estimator.js';
import { type Column, type Frame, type Target, takeTarget } from '../../../training/frame.js';
import { evaluate, scalarMetrics } from '../../../training/metrics/index.js';
import type { CalibrationCurve } from '../../../training/metrics/probabilistic.js';

/** Numbers that are not finite (an AUC on one class) are stored as null. */
export type MetricValues = Record<string, number | null>;

export interface SliceResult {
  /** The column's value (a number or text) or null for missing; numeric ranges as "[a, b)". */
  value: string | number | null;
  rows: number;
  metrics: MetricValues;
}

/** Fairness per sensitive column: the report, or why there is none. */
export type FairnessEntry =
  | { column: string; report: FairnessReport }
  | { column: string; report: null; reason: string };

export interface EvaluationResult {
  task: Task;
  target: string;
  classes: string[];
  /** Binary only: the class counted as the favourable outcome, and the probability cut. */
  positiveClass: string | null;
  threshold: number | null;
  rows: number;
  metrics: MetricValues;
  confusion: number[][] | null;
  calibration: CalibrationCurve | null;
  slices: Record<string, SliceResult[]>;
  sensitive: string[];
  fairness: Record<string, FairnessEntry>;
}

export interface ScoreOptions {
  sensitive?: readonly string[];
  slices?: readonly string[];
  /** Binary: the favourable class (default the model's second class, as metrics count it). */
  positiveClass?: string;
  /** Binary: p(positive) at or above this predicts the positive class (default 0.5). */
  threshold?: number;
  /** Fairness groups smaller than this are flagged small (default 30). */
  minGroupSize?: number;
}

/** Distinct numeric values beyond this make a slice column ranges (quintiles) instead of values. */
export const SLICE_VALUE_LIMIT = 20;

function finite(m: Record<string, number>): MetricValues {
  const out: MetricValues = {};
  for (const [k, v] of Object.entries(m)) out[k] = Number.isFinite(v) ? v : null;
  return out;
}

/** Scores `predictions` (row-major, as Predictor.predict) of `frame` against `target`. */
export function scoreEvaluation(
  task: Task,
  frame: Frame,
  target: Target,
  predictions: Float64Array,
  opts: ScoreOptions = {},
): EvaluationResult {
  const full = evaluate(task, target, predictions);
  const classes = target.kind === 'classification' ? [...target.classes] : [];
  const sensitive = [...(opts.sensitive ?? [])];
  let positive: number | null = null;
  let threshold: number | null = null;
  if (task === 'binary') {
    positive = opts.positiveClass === undefined ? 1 : classes.indexOf(opts.positiveClass);
    if (positive < 0)
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `positive class '${opts.positiveClass}' is not one of the model's classes (${classes.join(', ')})`,
        { positiveClass: opts.positiveClass, classes },
      );
    threshold = opts.threshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1))
      throw new FalajError('FALAJ_INVALID_ARGUMENT', 'threshold must be between 0 and 1', { threshold });
  }
  const byName = new Map(frame.columns.map((c) => [c.name, c]));
  const column = (name: string) => byName.get(name) as Column;

  const slices: Record<string, SliceResult[]> = {};
  for (const name of opts.slices ?? []) {
    slices[name] = sliceGroups(column(name)).map((g) => ({
      value: g.value,
      rows: g.rows.length,
      metrics: sliceMetrics(task, target, predictions, g.rows),
    }));
  }

  const fairness: Record<string, FairnessEntry> = {};
  for (const name of sensitive) {
    if (task !== 'binary' || positive === null || threshold === null) {
      fairness[name] = {
        column: name,
        report: null,
        reason: `fairness measures need a binary classifier; this model is ${task === 'regression' ? 'a regression' : 'multiclass'}`,
      };
      continue;
    }
    fairness[name] = {
      column: name,
      report: fairnessOf(target, predictions, positive, threshold, column(name), opts.minGroupSize),
    };
  }

  const { confusion, calibration } = full as { confusion?: number[][]; calibration?: CalibrationCurve };
  return {
    task,
    target: target.name,
    classes,
    positiveClass: positive === null ? null : (classes[positive] as string),
    threshold,
    rows: frame.nRows,
    metrics: finite(scalarMetrics(full)),
    confusion: confusion ?? null,
    calibration: calibration ?? null,
    slices,
    sensitive,
    fairness,
  };
}

function sliceMetrics(task: Task, target: Target, predictions: Float64Array, rows: number[]): MetricValues {
  const width = task === 'regression' ? 1 : (target as { classes: readonly string[] }).classes.length;
  const p = new Float64Array(rows.length * width);
  rows.forEach((r, i) => {
    for (let j = 0; j < width; j++) p[i * width + j] = predictions[r * width + j] as number;
  });
  return finite(scalarMetrics(evaluate(task, takeTarget(target, rows), p)));
}

/** Row groups of a slice column: each value, or quintile ranges for a numeric column of many values. */
function sliceGroups(col: Column): { value: string | number | null; rows: number[] }[] {
  const groups = new Map<string | number | null, number[]>();
  const add = (key: string | number | null, i: number) => {
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  };
  if (col.kind === 'categorical') {
    col.codes.forEach((c, i) => {
      add(c < 0 ? null : (col.levels[c] as string), i);
    });
    return sortGroups(groups);
  }
  const distinct = new Set<number>();
  for (const v of col.values) if (!Number.isNaN(v) && distinct.size <= SLICE_VALUE_LIMIT) distinct.add(v);
  if (distinct.size <= SLICE_VALUE_LIMIT) {
    col.values.forEach((v, i) => {
      add(Number.isNaN(v) ? null : v, i);
    });
    return sortGroups(groups);
  }
  const sorted = Float64Array.from(col.values.filter((v) => !Number.isNaN(v))).sort();
  const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] as number;
  const edges = [...new Set([q(0.2), q(0.4), q(0.6), q(0.8)])];
  const label = (b: number) =>
    `[${b === 0 ? '-inf' : String(edges[b - 1])}, ${b === edges.length ? 'inf' : String(edges[b])})`;
  const buckets: number[][] = edges.map(() => []).concat([[]]);
  const missing: number[] = [];
  col.values.forEach((v, i) => {
    if (Number.isNaN(v)) missing.push(i);
    else {
      let b = 0;
      while (b < edges.length && v >= (edges[b] as number)) b++;
      (buckets[b] as number[]).push(i);
    }
  });
  const out = buckets
    .map((rows, b) => ({ value: label(b) as string | number | null, rows }))
    .filter((g) => g.rows.length > 0);
  if (missing.length > 0) out.push({ value: null, rows: missing });
  return out;
}

function sortGroups(groups: Map<string | number | null, number[]>) {
  return [...groups]
    .sort(([a], [b]) =>
      a === null
        ? 1
        : b === null
          ? -1
          : typeof a === 'number' && typeof b === 'number'
            ? a - b
            : String(a) < String(b)
              ? -1
              : String(a) > String(b)
                ? 1
                : 0,
    )
    .map(([value, rows]) => ({ value, rows }));
}

const LABEL = '\u0000label';
const PREDICTION = '\u0000prediction';

function fairnessOf(
  target: Target,
  predictions: Float64Array,
  positive: number,
  threshold: number,
  col: Column,
  minGroupSize: number | undefined,
): FairnessReport {
  const labels = (target as { labels: Int32Array }).labels;
  const n = labels.length;
  const y = new Array<number>(n);
  const yhat = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    y[i] = labels[i] === positive ? 1 : 0;
    yhat[i] = (predictions[i * 2 + positive] as number) >= threshold ? 1 : 0;
  }
  const values =
    col.kind === 'categorical'
      ? Array.from(col.codes, (c) => (c < 0 ? null : (col.levels[c] as string)))
      : Array.from(col.values, (v) => (Number.isNaN(v) ? null : v));
  const report = computeFairness(
    { [LABEL]: y, [PREDICTION]: yhat, [col.name]: values },
    { label: LABEL, prediction: PREDICTION, sensitive: [col.name] },
    { positiveLabel: 1, negativeLabel: 0, ...(minGroupSize === undefined ? {} : { minGroupSize }) },
  );
  return { ...report, labelColumn: target.name, predictionColumn: 'prediction' };
}
