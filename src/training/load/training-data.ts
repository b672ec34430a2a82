// Loading a training set (features, target, optional weights) or a prediction frame from a
// CSV or Parquet file.
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import type { Column, Frame, Target, TrainingData } from '../frame.js';
import {
  type FileFormat,
  featureMode,
  isIntegerType,
  isNumericType,
  type ReadMode,
  type SourceColumn,
  SourceReader,
  type TextValues,
} from './source.js';

/**
 * An integer target with at most this many distinct values is taken as class labels when no
 * task is given; more distinct integers, or any float target, make a regression.
 */
export const INTEGER_CLASS_LIMIT = 20;

export interface LoadTrainingOptions {
  readonly path: string;
  /** The target column. */
  readonly target: string;
  /** Feature columns to use (default: every column but the target, weight and excluded ones). */
  readonly features?: readonly string[];
  /** Columns to leave out of the default feature set (ids, leaks). */
  readonly exclude?: readonly string[];
  /** A numeric column of non-negative row weights. */
  readonly weight?: string;
  /** Force the kind of target instead of inferring it. */
  readonly task?: 'classification' | 'regression';
}

export interface LoadedTrainingData {
  readonly data: TrainingData;
  readonly task: Task;
  readonly format: FileFormat;
  /** Each feature with the DuckDB type it had in the file. */
  readonly columns: readonly { name: string; kind: Column['kind']; sourceType: string }[];
}

function dataError(message: string, details: Record<string, unknown>): FalajError {
  return new FalajError('FALAJ_DATA_INVALID', message, details);
}

function findColumn(all: readonly SourceColumn[], name: string, role: string, path: string): SourceColumn {
  const c = all.find((s) => s.name === name);
  if (c === undefined) {
    throw dataError(
      `${role} column '${name}' is not in '${path}'; its columns are: ${all.map((s) => s.name).join(', ')}`,
      { file: path, column: name, available: all.map((s) => s.name) },
    );
  }
  return c;
}

/**
 * A feature column from what was read. Text holding only true/false (any case) is a boolean
 * column that CSV type detection left as text; it becomes numeric 0/1.
 */
function toColumn(name: string, v: Float64Array | TextValues): Column {
  if (v instanceof Float64Array) return { kind: 'numeric', name, values: v };
  const truth = v.levels.map((l) => l.trim().toLowerCase());
  if (truth.length > 0 && truth.every((t) => t === 'true' || t === 'false')) {
    const values = Float64Array.from(v.codes, (c) => (c < 0 ? Number.NaN : truth[c] === 'true' ? 1 : 0));
    return { kind: 'numeric', name, values };
  }
  return { kind: 'categorical', name, codes: v.codes, levels: v.levels };
}

/** A number spelled in text, or NaN ("", "nan", "abc" → NaN). */
function parseNumber(s: string): number {
  const t = s.trim();
  return t === '' ? Number.NaN : Number(t);
}

// Only NaN itself counts as missing text (besides empty cells, which DuckDB reads as NULL):
// words like 'NA' may well be class names.
const MISSING_WORDS = new Set(['nan']);

function classesFromNumbers(values: Float64Array, name: string, path: string): Target {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const classes = distinct.map((v) => String(v));
  const index = new Map<number, number>();
  distinct.forEach((v, i) => {
    index.set(v, i);
  });
  const labels = Int32Array.from(values, (v) => index.get(v) as number);
  return checkClasses({ kind: 'classification', name, classes, labels }, path);
}

function checkClasses(target: Target, path: string): Target {
  if (target.kind === 'classification' && target.classes.length < 2) {
    throw dataError(
      `target '${target.name}' in '${path}' has ${target.classes.length === 1 ? `a single class ('${target.classes[0]}')` : 'no values'}; classification needs at least two`,
      { file: path, column: target.name, classes: target.classes },
    );
  }
  return target;
}

/** The target from its numeric (non-boolean) source values. */
function numericTarget(
  values: Float64Array,
  source: SourceColumn,
  task: LoadTrainingOptions['task'],
  path: string,
  format: FileFormat,
): Target {
  const name = source.name;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw dataError(
        `target '${name}' is ${Number.isNaN(v) ? 'missing (NULL or NaN)' : v} at row ${i + 1} of '${path}'`,
        {
          file: path,
          column: name,
          row: i + 1,
        },
      );
    }
  }
  let kind = task;
  if (kind === undefined) {
    kind = 'regression';
    // CSV numbers are all read as DOUBLE, so there whole-number values stand for an integer
    // type; Parquet keeps its declared type.
    const integral =
      isIntegerType(source.typeId) || (format === 'csv' && values.every((v) => Number.isInteger(v)));
    if (integral) {
      const distinct = new Set<number>();
      for (let i = 0; i < values.length && distinct.size <= INTEGER_CLASS_LIMIT; i++)
        distinct.add(values[i] as number);
      if (distinct.size <= INTEGER_CLASS_LIMIT) kind = 'classification';
    }
  }
  if (kind === 'regression') return { kind: 'regression', name, values };
  return classesFromNumbers(values, name, path);
}

/** The target from text (or boolean) source values. */
function textTarget(text: TextValues, name: string, task: LoadTrainingOptions['task'], path: string): Target {
  const { codes, levels } = text;
  const firstRowOf = (level: number): number => codes.indexOf(level) + 1;
  const missingRow = codes.indexOf(-1);
  const missingLevel = levels.findIndex((l) => l.trim() === '' || MISSING_WORDS.has(l.trim().toLowerCase()));
  const firstMissing = [
    missingRow >= 0 ? missingRow + 1 : Infinity,
    missingLevel >= 0 ? firstRowOf(missingLevel) : Infinity,
  ];
  const row = Math.min(...firstMissing);
  if (row !== Infinity) {
    throw dataError(`target '${name}' is missing at row ${row} of '${path}'`, {
      file: path,
      column: name,
      row,
    });
  }
  const parsed = levels.map(parseNumber);
  if (task === 'regression') {
    const bad = parsed.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const r = firstRowOf(bad);
      throw dataError(`target '${name}' is not a number at row ${r} of '${path}' ('${levels[bad]}')`, {
        file: path,
        column: name,
        row: r,
        value: levels[bad],
      });
    }
    return { kind: 'regression', name, values: Float64Array.from(codes, (c) => parsed[c] as number) };
  }
  // Some values numbers and others words is almost always a broken column, not class names.
  const numericLevels = parsed.map((v) => Number.isFinite(v));
  if (numericLevels.some((b) => b) && numericLevels.some((b) => !b)) {
    const firstKind = numericLevels[codes[0] as number];
    let r = 0;
    while (r < codes.length && numericLevels[codes[r] as number] === firstKind) r++;
    throw dataError(
      `target '${name}' mixes numbers and text: row ${r + 1} of '${path}' holds '${levels[codes[r] as number]}' where row 1 holds '${levels[codes[0] as number]}'`,
      { file: path, column: name, row: r + 1, value: levels[codes[r] as number] },
    );
  }
  if (numericLevels.length > 0 && numericLevels.every((b) => b)) {
    // Numbers stored as text: order the classes by value, keep the spelling from the file.
    const order = levels
      .map((_, i) => i)
      .sort(
        (a, b) =>
          (parsed[a] as number) - (parsed[b] as number) ||
          (levels[a] as string).localeCompare(levels[b] as string),
      );
    const rank = new Int32Array(levels.length);
    order.forEach((l, i) => {
      rank[l] = i;
    });
    const classes = order.map((l) => levels[l] as string);
    return checkClasses(
      { kind: 'classification', name, classes, labels: Int32Array.from(codes, (c) => rank[c] as number) },
      path,
    );
  }
  return checkClasses({ kind: 'classification', name, classes: levels, labels: codes }, path);
}

/** Which columns of the file are features, target and weight; checks every named column. */
function planTraining(
  all: readonly SourceColumn[],
  options: LoadTrainingOptions,
): { featureSources: SourceColumn[]; targetSource: SourceColumn; weightSource: SourceColumn | undefined } {
  const { path } = options;
  const targetSource = findColumn(all, options.target, 'target', path);
  const weightSource =
    options.weight === undefined ? undefined : findColumn(all, options.weight, 'weight', path);
  for (const name of options.exclude ?? []) findColumn(all, name, 'excluded', path);
  let featureSources: SourceColumn[];
  if (options.features !== undefined) {
    featureSources = options.features.map((name) => findColumn(all, name, 'feature', path));
    for (const f of featureSources) {
      if (f.name === options.target || f.name === options.weight) {
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          `column '${f.name}' cannot be both a feature and the ${f.name === options.target ? 'target' : 'weight'}`,
          { column: f.name },
        );
      }
    }
    if (new Set(options.features).size !== options.features.length) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the feature list names a column twice', {
        parameter: 'features',
      });
    }
  } else {
    const skip = new Set([
      options.target,
      ...(options.weight ? [options.weight] : []),
      ...(options.exclude ?? []),
    ]);
    featureSources = all.filter((c) => !skip.has(c.name));
  }
  if (weightSource !== undefined && !isNumericType(weightSource.typeId)) {
    throw dataError(`weight column '${weightSource.name}' must be numeric, it is ${weightSource.type}`, {
      file: path,
      column: weightSource.name,
    });
  }
  return { featureSources, targetSource, weightSource };
}

/**
 * Loads a training set from a CSV (header auto-detected) or Parquet file. Numeric and
 * boolean columns become numeric features (NULL → NaN, booleans 0/1), dates and timestamps
 * numeric epoch seconds, everything else categorical with sorted levels. The target kind is
 * inferred unless `task` is given: text and booleans → classification; integers (in a CSV:
 * whole numbers) with at most INTEGER_CLASS_LIMIT distinct values → classification; other
 * numbers → regression. CSV text that only says true/false is a boolean feature.
 * Classes are sorted (numerically when they are numbers). Rows are numbered from 1, header
 * excluded.
 */
export async function loadTrainingData(options: LoadTrainingOptions): Promise<LoadedTrainingData> {
  const { path } = options;
  const reader = await SourceReader.open(path);
  try {
    const { nRows, values, context } = await reader.scan((all) => {
      const plan = planTraining(all, options);
      const requests = [
        ...plan.featureSources.map((c) => ({ name: c.name, mode: featureMode(c.typeId) })),
        {
          name: plan.targetSource.name,
          mode: (isNumericType(plan.targetSource.typeId) ? 'numeric' : 'text') as ReadMode,
        },
        ...(plan.weightSource ? [{ name: plan.weightSource.name, mode: 'numeric' as const }] : []),
      ];
      return { requests, context: plan };
    });
    const { featureSources, targetSource, weightSource } = context;
    if (nRows === 0) throw dataError(`'${path}' has no data rows`, { file: path });
    const columns = featureSources.map((c, j) => toColumn(c.name, values[j] as Float64Array | TextValues));
    const rawTarget = values[featureSources.length] as Float64Array | TextValues;
    const target =
      rawTarget instanceof Float64Array
        ? numericTarget(rawTarget, targetSource, options.task, path, reader.format)
        : textTarget(rawTarget, targetSource.name, options.task, path);
    let weights: Float64Array | undefined;
    if (weightSource) {
      weights = values[featureSources.length + 1] as Float64Array;
      for (let i = 0; i < nRows; i++) {
        const w = weights[i] as number;
        if (!(w >= 0) || !Number.isFinite(w)) {
          throw dataError(
            `weight '${weightSource.name}' is ${Number.isNaN(w) ? 'missing' : w} at row ${i + 1} of '${path}'; weights must be finite and ≥ 0`,
            {
              file: path,
              column: weightSource.name,
              row: i + 1,
            },
          );
        }
      }
    }
    const task: Task =
      target.kind === 'regression' ? 'regression' : target.classes.length === 2 ? 'binary' : 'multiclass';
    const features: Frame = { nRows, columns };
    return {
      data: weights ? { features, target, weights } : { features, target },
      task,
      format: reader.format,
      columns: featureSources.map((c, j) => ({
        name: c.name,
        kind: (columns[j] as Column).kind,
        sourceType: c.type,
      })),
    };
  } finally {
    reader.close();
  }
}

/**
 * Loads a frame for prediction (no target): every column, or only `columns` (each must
 * exist), typed as in loadTrainingData.
 */
export async function loadFrame(path: string, options: { columns?: readonly string[] } = {}): Promise<Frame> {
  const reader = await SourceReader.open(path);
  try {
    const all = await reader.columns();
    const sources =
      options.columns === undefined
        ? all
        : options.columns.map((name) => findColumn(all, name, 'requested', path));
    const { nRows, values } = await reader.read(
      sources.map((c) => ({ name: c.name, mode: featureMode(c.typeId) })),
    );
    return {
      nRows,
      columns: sources.map((c, j) => toColumn(c.name, values[j] as Float64Array | TextValues)),
    };
  } finally {
    reader.close();
  }
}
