// How raw column values become the samples the tests see. One place decides what counts as
// missing and how categories are keyed, so the in-memory and DuckDB paths agree.
import { FalajError } from '../core/errors.js';

/** A category as it appears in a report: the column's own value. */
export type CategoryKey = string | number | boolean;

/** A column as handed to the in-memory functions. */
export type ColumnInput = ArrayLike<unknown>;

/** A table as column name → values (all columns of one table the same length). */
export type TableInput = Readonly<Record<string, ColumnInput>>;

export type ColumnType = 'numeric' | 'categorical';

/**
 * A value as a category key, or undefined when missing. Missing means null, undefined, NaN and
 * ±Infinity: Evidently replaces infinities with NaN and drops NaN before every drift test.
 */
export function toKey(v: unknown): CategoryKey | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Numbers are numeric; anything else present (strings, booleans, dates) makes the column categorical. */
export function inferType(values: ColumnInput): ColumnType {
  let sawNumber = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v === 'number' || typeof v === 'bigint') sawNumber = true;
    else return 'categorical';
  }
  return sawNumber ? 'numeric' : 'categorical';
}

/** The finite numbers of a column, sorted ascending. Non-numeric values are a data error. */
export function sortedFinite(values: ColumnInput, column: string): Float64Array {
  const out = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const x = typeof v === 'bigint' ? Number(v) : v;
    if (typeof x !== 'number') {
      throw new FalajError(
        'FALAJ_DATA_INVALID',
        `column '${column}' is numeric but row ${i} holds ${JSON.stringify(String(v))}`,
        {
          column,
          row: i,
        },
      );
    }
    if (Number.isFinite(x)) out[k++] = x;
  }
  return out.subarray(0, k).sort();
}

/** Counts per category key, missing values left out. */
export function countKeys(values: ColumnInput): Map<CategoryKey, number> {
  const counts = new Map<CategoryKey, number>();
  for (let i = 0; i < values.length; i++) {
    const k = toKey(values[i]);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** A total order on keys (numbers before booleans before strings; each in natural order) for stable reports. */
export function compareKeys(a: CategoryKey, b: CategoryKey): number {
  const ta = typeof a;
  const tb = typeof b;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reference and current counts aligned on the sorted union of their keys. */
export interface AlignedCounts {
  keys: CategoryKey[];
  reference: number[];
  current: number[];
}

export function alignCounts(ref: Map<CategoryKey, number>, cur: Map<CategoryKey, number>): AlignedCounts {
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].sort(compareKeys);
  return { keys, reference: keys.map((k) => ref.get(k) ?? 0), current: keys.map((k) => cur.get(k) ?? 0) };
}

export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s;
}
