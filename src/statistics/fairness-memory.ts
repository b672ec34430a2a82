// Fairness on in-memory columns: rows reduced to per-group confusion counts, then fairness.ts.
import { FalajError } from '../core/errors.js';
import { fairnessFromCounts } from './fairness.js';
import type { FairnessOptions, FairnessReport, GroupCounts, GroupValue } from './fairness-types.js';
import { type CategoryKey, type TableInput, toKey } from './values.js';

/** The text a value is compared by: booleans read as 1/0 against a numeric label (true matches 1). */
export function labelText(v: unknown, numericLabels: boolean): string | undefined {
  if (typeof v === 'boolean' && numericLabels) return v ? '1' : '0';
  const k = toKey(v);
  return k === undefined ? undefined : String(k);
}

export interface FairnessColumns {
  label: string;
  prediction: string;
  sensitive: readonly string[];
}

export function validateFairnessArgs(columns: FairnessColumns, options: FairnessOptions): void {
  if (columns.sensitive.length === 0) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'fairness needs at least one sensitive column', {});
  }
  const pos = options.positiveLabel ?? 1;
  const neg = options.negativeLabel ?? 0;
  if (String(pos) === String(neg)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'the positive and negative labels must differ', {
      positiveLabel: pos,
    });
  }
  const min = options.minGroupSize ?? 30;
  if (!Number.isInteger(min) || min < 0) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'minGroupSize must be a non-negative integer', {
      minGroupSize: min,
    });
  }
}

export function notBinary(
  column: string,
  value: unknown,
  pos: CategoryKey,
  neg: CategoryKey,
  row?: number,
): FalajError {
  const shown = value === null || value === undefined ? 'a missing value' : JSON.stringify(String(value));
  return new FalajError(
    'FALAJ_DATA_INVALID',
    `column '${column}' must be binary (${String(pos)} or ${String(neg)}) but holds ${shown}${row === undefined ? '' : ` at row ${row}`}`,
    row === undefined ? { column, value: value ?? null } : { column, value: value ?? null, row },
  );
}

/**
 * Fairness metrics for predictions against labels, per group of the sensitive columns
 * (intersectional groups when there are several).
 */
export function computeFairness(
  table: TableInput,
  columns: FairnessColumns,
  options: FairnessOptions = {},
): FairnessReport {
  validateFairnessArgs(columns, options);
  const pos = options.positiveLabel ?? 1;
  const neg = options.negativeLabel ?? 0;
  const numeric = typeof pos === 'number' && typeof neg === 'number';
  const posText = String(pos);
  const negText = String(neg);
  const get = (name: string) => {
    const v = Object.hasOwn(table, name) ? table[name] : undefined;
    if (v === undefined)
      throw new FalajError('FALAJ_DATA_INVALID', `column '${name}' is missing`, { column: name });
    return v;
  };
  const y = get(columns.label);
  const yhat = get(columns.prediction);
  const sens = columns.sensitive.map(get);
  const groups = new Map<string, GroupCounts>();
  for (let i = 0; i < y.length; i++) {
    const yt = labelText(y[i], numeric);
    const pt = labelText(yhat[i], numeric);
    if (yt !== posText && yt !== negText) throw notBinary(columns.label, y[i], pos, neg, i);
    if (pt !== posText && pt !== negText) throw notBinary(columns.prediction, yhat[i], pos, neg, i);
    const values: GroupValue[] = sens.map((s) => toKey(s[i]) ?? null);
    const id = JSON.stringify(values);
    let g = groups.get(id);
    if (g === undefined) {
      const group: Record<string, GroupValue> = {};
      columns.sensitive.forEach((c, j) => {
        group[c] = values[j] as GroupValue;
      });
      g = { group, truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
      groups.set(id, g);
    }
    if (yt === posText) {
      if (pt === posText) g.truePositives++;
      else g.falseNegatives++;
    } else if (pt === posText) g.falsePositives++;
    else g.trueNegatives++;
  }
  return fairnessFromCounts([...groups.values()], columns, options);
}
