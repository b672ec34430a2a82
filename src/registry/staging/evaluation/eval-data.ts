// Reading evaluation data (a dataset version's Parquet, or an uploaded CSV or Parquet file) for
// one model: every column the model takes, the target, the sensitive and slice columns must be
// there (FALAJ_EVALUATION_DATA_MISMATCH names what is missing), and the target's values are
// mapped onto the model's classes.
import { FalajError } from '../../../core/errors.js';
import type { Task } from '../../../training/estimator.js';
import type { Column, Frame, Target } from '../../../training/frame.js';
import { loadFrame } from '../../../training/load/index.js';
import { SourceReader } from '../../../training/load/source.js';
import type { EvalModel } from './model-predictor.js';

export interface EvalColumns {
  target: string;
  sensitive: readonly string[];
  slices: readonly string[];
}

export interface EvalData {
  frame: Frame;
  target: Target;
  task: Task;
  rows: number;
}

/** The columns of a file, without reading its rows. */
export async function fileColumns(file: string): Promise<string[]> {
  const reader = await SourceReader.open(file);
  try {
    return (await reader.columns()).map((c) => c.name);
  } finally {
    reader.close();
  }
}

/**
 * Every column the evaluation needs that `available` lacks, by role; throws
 * FALAJ_EVALUATION_DATA_MISMATCH naming them (before any row is read or anything stored).
 */
export function checkColumns(
  available: readonly string[],
  model: Pick<EvalModel, 'inputColumns'>,
  columns: EvalColumns,
  where: string,
): void {
  const have = new Set(available);
  const missing = (names: readonly string[]) => names.filter((n) => !have.has(n));
  const roles = {
    model: missing(model.inputColumns),
    target: missing([columns.target]),
    sensitive: missing(columns.sensitive),
    slices: missing(columns.slices),
  };
  const all = [...new Set([...roles.model, ...roles.target, ...roles.sensitive, ...roles.slices])];
  if (all.length === 0) return;
  const parts = [
    roles.model.length
      ? `the model input column${roles.model.length > 1 ? 's' : ''} ${quoted(roles.model)}`
      : '',
    roles.target.length ? `the target '${columns.target}'` : '',
    roles.sensitive.length
      ? `the sensitive column${roles.sensitive.length > 1 ? 's' : ''} ${quoted(roles.sensitive)}`
      : '',
    roles.slices.length
      ? `the slice column${roles.slices.length > 1 ? 's' : ''} ${quoted(roles.slices)}`
      : '',
  ].filter(Boolean);
  throw new FalajError('FALAJ_EVALUATION_DATA_MISMATCH', `${where} lacks ${parts.join(', ')}`, {
    missing: all,
    missingModelInputs: roles.model,
    missingTarget: roles.target,
    missingSensitive: roles.sensitive,
    missingSlices: roles.slices,
    available: [...available],
  });
}

const quoted = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');

/** Reads the columns the evaluation uses and builds the target against the model's classes. */
export async function readEvalData(
  file: string,
  model: EvalModel,
  columns: EvalColumns,
  opts: { where: string; task?: Task; classes?: readonly string[] },
): Promise<EvalData> {
  checkColumns(await fileColumns(file), model, columns, opts.where);
  const names = [
    ...new Set([...model.inputColumns, columns.target, ...columns.sensitive, ...columns.slices]),
  ];
  const frame = await loadFrame(file, { columns: names });
  if (frame.nRows === 0)
    throw new FalajError('FALAJ_DATA_INVALID', `${opts.where} has no rows to evaluate on`, { rows: 0 });
  const raw = frame.columns.find((c) => c.name === columns.target) as Column;
  const task = model.task ?? opts.task ?? inferTask(raw, opts.classes);
  const target =
    task === 'regression'
      ? regressionTarget(raw, opts.where)
      : classTarget(raw, model.classes ?? opts.classes ?? sortedClasses(raw), opts.where);
  if (task !== 'regression' && target.kind === 'classification') {
    const k = target.classes.length;
    if ((task === 'binary') !== (k === 2))
      throw new FalajError(
        'FALAJ_EVALUATION_DATA_MISMATCH',
        `a ${task} model cannot be scored on ${k} classes`,
        {
          task,
          classes: [...target.classes],
        },
      );
  }
  return { frame, target, task, rows: frame.nRows };
}

/** A foreign model's task from its target: text → classes; numbers → regression unless few whole values. */
function inferTask(col: Column, classes: readonly string[] | undefined): Task {
  if (classes) return classes.length === 2 ? 'binary' : 'multiclass';
  if (col.kind === 'categorical') return col.levels.length === 2 ? 'binary' : 'multiclass';
  const distinct = new Set<number>();
  for (const v of col.values) {
    if (!Number.isInteger(v)) return 'regression';
    distinct.add(v);
    if (distinct.size > 20) return 'regression';
  }
  return distinct.size === 2 ? 'binary' : distinct.size > 2 ? 'multiclass' : 'regression';
}

/** The target's distinct values as class names, sorted as training sorts them (numbers by value). */
function sortedClasses(col: Column): string[] {
  if (col.kind === 'numeric') {
    return [...new Set(Array.from(col.values).filter((v) => !Number.isNaN(v)))]
      .sort((a, b) => a - b)
      .map(String);
  }
  const used = new Set<number>(col.codes);
  return col.levels.filter((_, i) => used.has(i));
}

function regressionTarget(col: Column, where: string): Target {
  if (col.kind !== 'numeric')
    throw new FalajError(
      'FALAJ_EVALUATION_DATA_MISMATCH',
      `the target '${col.name}' in ${where} is not numeric`,
      {
        column: col.name,
      },
    );
  const bad = col.values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `the target '${col.name}' is missing at row ${bad + 1} of ${where}`,
      {
        column: col.name,
        row: bad + 1,
      },
    );
  return { kind: 'regression', name: col.name, values: col.values };
}

function classTarget(col: Column, classes: readonly string[], where: string): Target {
  const index = new Map(classes.map((c, i) => [c, i]));
  // A true/false text column reads as 0/1: match it back to the model's spelling of the classes.
  const lower = new Map(classes.map((c, i) => [c.toLowerCase(), i]));
  const n = col.kind === 'numeric' ? col.values.length : col.codes.length;
  const labels = new Int32Array(n);
  const unknown = new Set<string>();
  const lookup = (text: string | null, row: number): number => {
    if (text === null)
      throw new FalajError(
        'FALAJ_DATA_INVALID',
        `the target '${col.name}' is missing at row ${row + 1} of ${where}`,
        {
          column: col.name,
          row: row + 1,
        },
      );
    const j = index.get(text);
    if (j !== undefined) return j;
    unknown.add(text);
    return -1;
  };
  if (col.kind === 'numeric') {
    for (let i = 0; i < n; i++) {
      const v = col.values[i] as number;
      if (Number.isNaN(v)) lookup(null, i);
      let j = index.get(String(v));
      if (j === undefined && (v === 0 || v === 1)) j = lower.get(v === 1 ? 'true' : 'false');
      labels[i] = j ?? lookup(String(v), i);
    }
  } else {
    const levelIndex = col.levels.map((l) => index.get(l));
    for (let i = 0; i < n; i++) {
      const c = col.codes[i] as number;
      labels[i] = c < 0 ? lookup(null, i) : (levelIndex[c] ?? lookup(col.levels[c] as string, i));
    }
  }
  if (unknown.size > 0)
    throw new FalajError(
      'FALAJ_EVALUATION_DATA_MISMATCH',
      `the target '${col.name}' in ${where} holds ${quoted([...unknown].slice(0, 10))}, which the model does not know (its classes: ${quoted(classes)})`,
      { column: col.name, unknownClasses: [...unknown].slice(0, 100), classes: [...classes] },
    );
  return { kind: 'classification', name: col.name, classes: [...classes], labels };
}
