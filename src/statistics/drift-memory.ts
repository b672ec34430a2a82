// Drift on in-memory columns: exact, for small data and for tests; the DuckDB path
// (drift-duckdb.ts) must give the same numbers on the same data.
import { FalajError } from '../core/errors.js';
import {
  type BinEdges,
  binCounts,
  equalWidthEdges,
  quantileEdgesFromOrderStats,
  quantilePositions,
  sturgesEdges,
} from './binning.js';
import {
  binDetail,
  columnResult,
  countsTest,
  datasetReport,
  emptyColumnError,
  ksResult,
  planColumn,
  sharesStatistic,
  usesBins,
  validateOptions,
  wassersteinStatistic,
} from './drift-rules.js';
import type { ColumnDrift, DriftOptions, DriftReport } from './drift-types.js';
import { compareSorted, populationStd } from './two-sample.js';
import {
  type AlignedCounts,
  alignCounts,
  type CategoryKey,
  type ColumnInput,
  type ColumnType,
  countKeys,
  inferType,
  sortedFinite,
  type TableInput,
} from './values.js';

/** Value counts of a sorted numeric sample. */
function runLengths(sorted: Float64Array): Map<CategoryKey, number> {
  const out = new Map<CategoryKey, number>();
  let i = 0;
  while (i < sorted.length) {
    const v = sorted[i] as number;
    let j = i + 1;
    while (j < sorted.length && sorted[j] === v) j++;
    out.set(v, j - i);
    i = j;
  }
  return out;
}

function distinctSorted(sorted: Float64Array): number {
  let d = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) d++;
  return d;
}

/** The bin edges for a binned method on a numeric column, under the chosen binning. */
export function numericEdges(options: DriftOptions, ref: Float64Array, cur: Float64Array): BinEdges {
  const bins = options.bins ?? 10;
  switch (options.binning ?? 'evidently') {
    case 'equal-width':
      return equalWidthEdges(ref[0] as number, ref[ref.length - 1] as number, bins);
    case 'quantile':
      return quantileEdgesFromOrderStats(quantilePositions(ref.length, bins), (i) => ref[i] as number);
    default: {
      const min = Math.min(ref[0] as number, cur[0] as number);
      const max = Math.max(ref[ref.length - 1] as number, cur[cur.length - 1] as number);
      return sturgesEdges(min, max, ref.length + cur.length);
    }
  }
}

function column(table: TableInput, name: string, side: 'reference' | 'current'): ColumnInput {
  const values = Object.hasOwn(table, name) ? table[name] : undefined;
  if (values === undefined) {
    throw new FalajError('FALAJ_DATA_INVALID', `column '${name}' is missing from the ${side} data`, {
      column: name,
      side,
    });
  }
  return values;
}

function tableRows(table: TableInput): number {
  const first = Object.values(table)[0];
  return first === undefined ? 0 : first.length;
}

function numericColumn(
  options: DriftOptions,
  name: string,
  refRaw: ColumnInput,
  curRaw: ColumnInput,
): ColumnDrift {
  const ref = sortedFinite(refRaw, name);
  const cur = sortedFinite(curRaw, name);
  if (ref.length === 0) throw emptyColumnError(name, 'reference');
  if (cur.length === 0) throw emptyColumnError(name, 'current');
  const pooled = new Float64Array(ref.length + cur.length);
  pooled.set(ref);
  pooled.set(cur, ref.length);
  const plan = planColumn(options, name, 'numeric', ref.length, distinctSorted(pooled.sort()));
  switch (plan.method) {
    case 'ks': {
      const r = ksResult(compareSorted(ref, cur));
      return columnResult(plan, r.statistic, r.pValue, ref.length, cur.length, { ksPValue: r.method });
    }
    case 'wasserstein': {
      const w = wassersteinStatistic(compareSorted(ref, cur).wasserstein, populationStd(ref));
      return columnResult(plan, w, undefined, ref.length, cur.length);
    }
    case 'chisquare':
    case 'z': {
      const r = countsTest(plan.method, alignCounts(runLengths(ref), runLengths(cur)));
      return columnResult(plan, r.statistic, r.pValue, ref.length, cur.length);
    }
    default: {
      if ((options.binning ?? 'evidently') === 'evidently' && !usesBins('numeric', distinctSorted(ref))) {
        const c = alignCounts(runLengths(ref), runLengths(cur));
        const s = sharesStatistic(plan.method, c.reference, c.current);
        return columnResult(plan, s, undefined, ref.length, cur.length, { binning: 'categories' });
      }
      const edges = numericEdges(options, ref, cur);
      const s = sharesStatistic(plan.method, binCounts(ref, edges), binCounts(cur, edges));
      return columnResult(plan, s, undefined, ref.length, cur.length, binDetail(options.binning, edges));
    }
  }
}

/** Drift of one categorical column from its aligned counts (shared with the DuckDB path). */
export function categoricalDrift(options: DriftOptions, name: string, counts: AlignedCounts): ColumnDrift {
  const n = counts.reference.reduce((a, b) => a + b, 0);
  const m = counts.current.reduce((a, b) => a + b, 0);
  if (n === 0) throw emptyColumnError(name, 'reference');
  if (m === 0) throw emptyColumnError(name, 'current');
  const plan = planColumn(options, name, 'categorical', n, counts.keys.length);
  if (plan.method === 'chisquare' || plan.method === 'z') {
    const r = countsTest(plan.method, counts);
    return columnResult(plan, r.statistic, r.pValue, n, m);
  }
  const method = plan.method as 'jensenshannon' | 'psi' | 'linf';
  return columnResult(plan, sharesStatistic(method, counts.reference, counts.current), undefined, n, m, {
    binning: 'categories',
  });
}

/**
 * Drift of every column of `current` against `reference` (column name → values). Numeric
 * columns hold numbers; any string or boolean makes a column categorical unless
 * `perColumn[name].type` says otherwise.
 */
export function computeDrift(
  reference: TableInput,
  current: TableInput,
  options: DriftOptions = {},
): DriftReport {
  validateOptions(options);
  if (tableRows(reference) === 0) {
    throw new FalajError('FALAJ_DATA_INVALID', 'the reference data has no rows', { side: 'reference' });
  }
  const names = options.columns ?? Object.keys(reference);
  const results = names.map((name) => {
    const refRaw = column(reference, name, 'reference');
    const curRaw = column(current, name, 'current');
    const type: ColumnType = options.perColumn?.[name]?.type ?? inferType(refRaw);
    if (type === 'numeric') return numericColumn(options, name, refRaw, curRaw);
    return categoricalDrift(options, name, alignCounts(countKeys(refRaw), countKeys(curRaw)));
  });
  return datasetReport(results, options);
}
