// A frame from in-memory records (JSON rows from an API request), typed like a loaded file.
import { FalajError } from '../../core/errors.js';
import type { Column, Frame } from '../frame.js';
import { TextBuilder } from './source.js';

export type ColumnKind = Column['kind'];

export interface RecordsOptions {
  /** Columns to build, in this order (default: every key, in order of first appearance). */
  readonly columns?: readonly string[];
  /** Force a column's kind (for instance the kinds a model was trained with). */
  readonly kinds?: Readonly<Record<string, ColumnKind>>;
}

function invalid(message: string, row: number, column: string): FalajError {
  return new FalajError('FALAJ_DATA_INVALID', message, { row, column });
}

/** A cell as a number, string or null; anything else (objects, arrays) is refused. */
function cell(v: unknown, row: number, column: string): number | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.getTime() / 1000;
  throw invalid(
    `record ${row} has a ${Array.isArray(v) ? 'list' : typeof v} in column '${column}'; expected a number, string, boolean or null`,
    row,
    column,
  );
}

/**
 * Builds a Frame from records. Kinds are inferred per column unless given: a column with any
 * string value is categorical (numbers in it spelled with String()), otherwise numeric
 * (booleans 0/1, null/undefined/absent → missing, Dates → epoch seconds). A column forced
 * numeric refuses text that is not a number, naming the record (1-based) and column.
 */
export function frameFromRecords(records: readonly unknown[], options: RecordsOptions = {}): Frame {
  if (!Array.isArray(records))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'records must be an array of objects', {});
  const n = records.length;
  const rows = records.map((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new FalajError('FALAJ_DATA_INVALID', `record ${i + 1} is not an object`, { row: i + 1 });
    }
    return r as Record<string, unknown>;
  });
  let names = options.columns;
  if (names === undefined) {
    const seen = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
    names = [...seen];
  }
  const columns = names.map((name): Column => {
    const cells = rows.map((r, i) => cell(Object.hasOwn(r, name) ? r[name] : undefined, i + 1, name));
    const kind =
      options.kinds?.[name] ?? (cells.some((c) => typeof c === 'string') ? 'categorical' : 'numeric');
    if (kind === 'numeric') {
      const values = new Float64Array(n);
      cells.forEach((c, i) => {
        if (c === null) values[i] = Number.NaN;
        else if (typeof c === 'number') values[i] = c;
        else {
          const t = c.trim();
          const v = t === '' ? Number.NaN : Number(t);
          if (Number.isNaN(v) && t !== '')
            throw invalid(`record ${i + 1} has '${c}' in numeric column '${name}'`, i + 1, name);
          values[i] = v;
        }
      });
      return { kind: 'numeric', name, values };
    }
    const b = new TextBuilder(n);
    cells.forEach((c, i) => {
      b.set(i, c === null || (typeof c === 'number' && Number.isNaN(c)) ? null : String(c));
    });
    const { codes, levels } = b.finish();
    return { kind: 'categorical', name, codes, levels };
  });
  return { nRows: n, columns };
}
