// The columns of one request-log Parquet file: the fixed columns, then one typed column per
// input (`in_<name>`), then the outputs (`out_label` and `out_proba_<class>` of a classifier,
// `out_value` of a regressor). A file holds the union of its entries' columns; an entry without a
// column gives NULL there. A column numeric in one entry and text in another is text in the file.
import type { RequestLogEntry } from './entry.js';
import { rowsOf } from './entry.js';
import { hashValue } from './pii-key.js';

export type CellKind = 'DOUBLE' | 'VARCHAR';

/** The fixed columns, in file order, with their DuckDB types (time is written as TIMESTAMP). */
export const FIXED_COLUMNS = [
  ['request_id', 'VARCHAR'],
  ['row', 'INTEGER'],
  ['time', 'TIMESTAMP'],
  ['revision', 'INTEGER'],
  ['model', 'VARCHAR'],
  ['model_version', 'INTEGER'],
  ['variant', 'VARCHAR'],
  ['protocol', 'VARCHAR'],
  ['status', 'INTEGER'],
  ['latency_ms', 'DOUBLE'],
  ['error', 'VARCHAR'],
] as const;

type Cell = string | number | null;

/** A typed column of the file and how to read its cell for row `row` of an entry. */
export interface DataColumn {
  name: string;
  kind: CellKind;
  cell(entry: RequestLogEntry, row: number): Cell;
}

function numberCell(v: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : v;
}

/** The values of input `name` of an entry after its privacy policy ('drop' never gets here). */
function inputCell(entry: RequestLogEntry, name: string, row: number, hashKey: (p: string) => Buffer): Cell {
  const data = entry.batch?.columns.get(name);
  if (!data || row >= (entry.batch?.rows ?? 0)) return null;
  const v = data[row];
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
  if (entry.privacy?.policy === 'hash' && entry.privacy.columns.includes(name))
    return hashValue(hashKey(entry.projectId), v);
  return v;
}

const classIndexes = new WeakMap<readonly (string | number)[], Map<string, number>>();

/** Where each class (by its text) sits in a prediction's `classes`, computed once per array. */
function classIndex(classes: readonly (string | number)[]): Map<string, number> {
  let m = classIndexes.get(classes);
  if (!m) {
    m = new Map();
    for (const [i, c] of classes.entries()) if (!m.has(String(c))) m.set(String(c), i);
    classIndexes.set(classes, m);
  }
  return m;
}

function policyOf(entry: RequestLogEntry, name: string): 'hash' | 'drop' | 'keep' {
  const p = entry.privacy;
  if (!p || p.policy === 'keep' || !p.columns.includes(name)) return 'keep';
  return p.policy;
}

/**
 * The data columns of a file of `entries` (inputs, then outputs). DuckDB's names are
 * case-insensitive: a name that differs from an earlier one only by case gets `__2`, `__3`...
 */
export function layoutOf(
  entries: readonly RequestLogEntry[],
  hashKey: (projectId: string) => Buffer,
): DataColumn[] {
  const inputs = new Map<string, CellKind>();
  const outputs = new Map<string, { kind: CellKind; cell: DataColumn['cell'] }>();
  const widen = (map: Map<string, CellKind>, name: string, kind: CellKind) => {
    const had = map.get(name);
    map.set(name, had && had !== kind ? 'VARCHAR' : kind);
  };
  const labelKinds = new Set<CellKind>();
  const classes = new Map<string, string | number>();
  let regressor = false;
  for (const e of entries) {
    if (e.batch)
      for (const [name, data] of e.batch.columns) {
        const policy = policyOf(e, name);
        if (policy === 'drop') continue;
        widen(inputs, name, policy === 'hash' || !(data instanceof Float64Array) ? 'VARCHAR' : 'DOUBLE');
      }
    const p = e.prediction;
    if (p?.kind === 'classifier') {
      for (const l of p.labels) labelKinds.add(typeof l === 'number' ? 'DOUBLE' : 'VARCHAR');
      for (const c of p.classes) classes.set(String(c), c);
    } else if (p?.kind === 'regressor') regressor = true;
  }

  const cols: DataColumn[] = [];
  const taken = new Map<string, number>();
  for (const [name] of FIXED_COLUMNS) taken.set(name, 1);
  const unique = (name: string) => {
    const key = name.toLowerCase();
    const n = (taken.get(key) ?? 0) + 1;
    taken.set(key, n);
    if (n === 1) return name;
    const alt = `${name}__${n}`;
    taken.set(alt.toLowerCase(), 1);
    return alt;
  };
  for (const [name, kind] of inputs) {
    cols.push({
      name: unique(`in_${name}`),
      kind,
      cell: (e, r) => {
        if (policyOf(e, name) === 'drop') return null;
        const v = inputCell(e, name, r, hashKey);
        return kind === 'VARCHAR' && typeof v === 'number' ? String(v) : v;
      },
    });
  }
  if (labelKinds.size > 0) {
    const kind: CellKind = labelKinds.has('VARCHAR') ? 'VARCHAR' : 'DOUBLE';
    outputs.set('out_label', {
      kind,
      cell: (e, r) => {
        if (e.prediction?.kind !== 'classifier') return null;
        const l = e.prediction.labels[r];
        if (l === undefined) return null;
        return kind === 'VARCHAR' ? String(l) : numberCell(l as number);
      },
    });
  }
  for (const [key] of classes)
    outputs.set(`out_proba_${key}`, {
      kind: 'DOUBLE',
      cell: (e, r) => {
        if (e.prediction?.kind !== 'classifier') return null;
        const i = classIndex(e.prediction.classes).get(key);
        if (i === undefined) return null;
        return numberCell(e.prediction.probabilities[r]?.[i]);
      },
    });
  if (regressor)
    outputs.set('out_value', {
      kind: 'DOUBLE',
      cell: (e, r) => (e.prediction?.kind === 'regressor' ? numberCell(e.prediction.values[r]) : null),
    });
  for (const [name, o] of outputs) cols.push({ name: unique(name), kind: o.kind, cell: o.cell });
  return cols;
}

/** Log rows of a set of entries (what stats() counts). */
export function rowCount(entries: readonly RequestLogEntry[]): number {
  let n = 0;
  for (const e of entries) n += rowsOf(e);
  return n;
}
