// Putting one request value into a model column, shared by both protocol codecs: the checks
// (numbers in numeric columns, integers in integer columns, missing values only where the
// column takes them, never an infinity) and the conversion (bool → 0/1, missing → NaN / null).
// Failures are InputError; each codec rethrows them in its own error shape.

import { InputError } from './errors.js';
import type { BatchLimits, ColumnData, ColumnSpec, ColumnType } from './model-io.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function newColumn(spec: ColumnSpec, rows: number): ColumnData {
  return spec.type === 'string' ? new Array<string | null>(rows).fill(null) : new Float64Array(rows);
}

/** Refuse a request over the limits before anything of its size is allocated (413). */
export function checkLimits(rows: number, cells: number, limits: BatchLimits): void {
  if (rows > limits.maxRows)
    throw new InputError(
      `the request holds ${rows} rows; the limit is ${limits.maxRows} rows per request`,
      413,
    );
  if (cells > limits.maxCells)
    throw new InputError(
      `the request holds ${cells} values; the limit is ${limits.maxCells} values per request`,
      413,
    );
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function missing(spec: ColumnSpec, col: ColumnData, row: number, at: () => string): void {
  if (!spec.missing) throw new InputError(`${at()}: a missing value where column '${spec.name}' takes none`);
  if (col instanceof Float64Array) col[row] = Number.NaN;
  else col[row] = null;
}

function putNumber(spec: ColumnSpec, col: Float64Array, row: number, n: number, at: () => string): void {
  if (Number.isNaN(n)) {
    missing(spec, col, row, at);
    return;
  }
  if (!Number.isFinite(n))
    throw new InputError(`${at()}: ${n} where column '${spec.name}' takes no infinity`);
  if (spec.type === 'int32' || spec.type === 'int64') {
    if (!Number.isInteger(n))
      throw new InputError(`${at()}: ${n} is not an integer (column '${spec.name}' is ${spec.type})`);
    if (spec.type === 'int32' ? n < INT32_MIN || n > INT32_MAX : !Number.isSafeInteger(n))
      throw new InputError(`${at()}: ${n} is out of range for column '${spec.name}' (${spec.type})`);
  } else if (spec.type === 'bool' && n !== 0 && n !== 1) {
    throw new InputError(`${at()}: ${n} is not a boolean (column '${spec.name}' is bool)`);
  }
  col[row] = n;
}

/** Put a JSON value (already parsed) into `col` at `row`. */
export function putJson(spec: ColumnSpec, col: ColumnData, row: number, v: unknown, at: () => string): void {
  if (v === null || v === undefined) {
    missing(spec, col, row, at);
    return;
  }
  if (col instanceof Float64Array) {
    if (spec.type === 'bool') {
      if (typeof v !== 'boolean')
        throw new InputError(
          `${at()}: expected true or false for column '${spec.name}' (bool), got ${describe(v)}`,
        );
      col[row] = v ? 1 : 0;
      return;
    }
    if (typeof v !== 'number')
      throw new InputError(
        `${at()}: expected a number for column '${spec.name}' (${spec.type}), got ${describe(v)}`,
      );
    putNumber(spec, col, row, v, at);
    return;
  }
  if (typeof v !== 'string')
    throw new InputError(`${at()}: expected a string for column '${spec.name}' (string), got ${describe(v)}`);
  col[row] = v;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NAN_TEXT = /^[+-]?nan$/i;
const INF_TEXT = /^[+-]?(?:inf|infinity)$/i;
const TRUE_TEXT = new Set(['true', 'True', 'TRUE', '1']);
const FALSE_TEXT = new Set(['false', 'False', 'FALSE', '0']);

/** Put a text cell (CSV) into `col` at `row`; an empty cell is a missing value. */
export function putText(
  spec: ColumnSpec,
  col: ColumnData,
  row: number,
  text: string,
  at: () => string,
): void {
  if (!(col instanceof Float64Array)) {
    if (text === '') {
      missing(spec, col, row, at);
      return;
    }
    col[row] = text;
    return;
  }
  const t = text.trim();
  if (t === '') {
    missing(spec, col, row, at);
    return;
  }
  if (spec.type === 'bool') {
    if (TRUE_TEXT.has(t)) col[row] = 1;
    else if (FALSE_TEXT.has(t)) col[row] = 0;
    else throw new InputError(`${at()}: ${describe(text)} is not a boolean (column '${spec.name}' is bool)`);
    return;
  }
  let n: number;
  if (DECIMAL.test(t)) n = Number(t);
  else if (NAN_TEXT.test(t)) n = Number.NaN;
  else if (INF_TEXT.test(t)) n = t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  else
    throw new InputError(
      `${at()}: ${describe(text)} where column '${spec.name}' (${spec.type}) takes numbers`,
    );
  putNumber(spec, col, row, n, at);
}

export function typeList(specs: readonly { readonly name: string }[]): string {
  return specs.map((s) => `'${s.name}'`).join(', ');
}

export type { ColumnType };
