// The decisions both drift paths share: which test a column gets, how its binned shares are
// formed, and when a statistic means drift. The paths differ only in how they count.
import { FalajError } from '../core/errors.js';
import type { BinEdges } from './binning.js';
import {
  type ColumnDrift,
  type ColumnDriftOptions,
  DEFAULT_THRESHOLDS,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
  P_VALUE_METHODS,
} from './drift-types.js';
import {
  chiSquareGoodnessOfFit,
  type EcdfComparison,
  jensenShannonDistance,
  ksPValue,
  lInfinityDistance,
  normalisedWasserstein,
  populationStabilityIndex,
  type TestResult,
  zTestTwoProportions,
} from './two-sample.js';
import type { AlignedCounts, ColumnType } from './values.js';

/** Evidently's small-reference limit: up to this many reference rows, statistical tests; above, distances. */
export const SMALL_REFERENCE_ROWS = 1000;

/**
 * Evidently's default test (`get_default_stattest`). `distinct` counts values over reference and
 * current together (only whether it is ≤ 2 or ≤ 5 matters).
 */
export function autoMethod(type: ColumnType, referenceRows: number, distinct: number): DriftMethod {
  if (referenceRows <= SMALL_REFERENCE_ROWS) {
    if (type === 'numeric' && distinct > 5) return 'ks';
    return distinct > 2 ? 'chisquare' : 'z';
  }
  if (type === 'numeric' && distinct > 5) return 'wasserstein';
  return 'jensenshannon';
}

export interface ColumnPlan {
  column: string;
  type: ColumnType;
  method: DriftMethod;
  threshold: number;
}

export function columnOptions(options: DriftOptions, column: string): ColumnDriftOptions {
  return options.perColumn?.[column] ?? {};
}

/** The method and threshold for one column, after the caller's overrides; refuses numeric-only tests on categories. */
export function planColumn(
  options: DriftOptions,
  column: string,
  type: ColumnType,
  referenceRows: number,
  distinct: number,
): ColumnPlan {
  const own = columnOptions(options, column);
  const method = own.method ?? options.method ?? autoMethod(type, referenceRows, distinct);
  if ((method === 'ks' || method === 'wasserstein') && type !== 'numeric') {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `drift method '${method}' needs a numeric column; '${column}' is categorical`,
      {
        column,
        method,
      },
    );
  }
  const threshold = own.threshold ?? options.threshold ?? DEFAULT_THRESHOLDS[method];
  if (!Number.isFinite(threshold)) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `drift threshold for '${column}' must be a finite number`,
      { column, threshold },
    );
  }
  return { column, type, method, threshold };
}

/**
 * Evidently's `get_binned_data`: a numeric column with more than 20 distinct reference values is
 * cut into bins; anything else is compared on its category (value) shares.
 */
export function usesBins(type: ColumnType, referenceDistinct: number): boolean {
  return type === 'numeric' && referenceDistinct > 20;
}

/** The statistic of a binned/category method from aligned counts. */
export function sharesStatistic(
  method: 'jensenshannon' | 'psi' | 'linf',
  ref: readonly number[],
  cur: readonly number[],
): number {
  if (method === 'jensenshannon') return jensenShannonDistance(ref, cur);
  const n = ref.reduce((a, b) => a + b, 0);
  const m = cur.reduce((a, b) => a + b, 0);
  const rs = ref.map((c) => c / n);
  const cs = cur.map((c) => c / m);
  return method === 'psi' ? populationStabilityIndex(rs, cs) : lInfinityDistance(rs, cs);
}

/** chisquare or z on category counts. */
export function countsTest(method: 'chisquare' | 'z', counts: AlignedCounts): TestResult {
  if (method === 'chisquare') return chiSquareGoodnessOfFit(counts.reference, counts.current);
  if (counts.keys.length > 2) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `the Z-test compares two proportions; the column has ${counts.keys.length} values`,
      {
        distinct: counts.keys.length,
      },
    );
  }
  // Success is the first key in sorted order; the two-sided test does not depend on which.
  const n = counts.reference.reduce((a, b) => a + b, 0);
  const m = counts.current.reduce((a, b) => a + b, 0);
  return zTestTwoProportions(counts.reference[0] ?? 0, n, counts.current[0] ?? 0, m);
}

export function ksResult(c: EcdfComparison): TestResult & { method: 'exact' | 'asymptotic' } {
  const p = ksPValue(c.n, c.m, c.dScaled);
  return { statistic: c.dScaled / (c.n * c.m), pValue: p.pValue, method: p.method };
}

export function wassersteinStatistic(w1: number, refStd: number): number {
  return normalisedWasserstein(w1, refStd);
}

/** Tests drift when p < threshold; distances when statistic ≥ threshold (Evidently). */
export function columnResult(
  plan: ColumnPlan,
  statistic: number,
  pValue: number | undefined,
  referenceRows: number,
  currentRows: number,
  detail?: ColumnDrift['detail'],
): ColumnDrift {
  const isTest = P_VALUE_METHODS.has(plan.method);
  const drifted = isTest ? (pValue as number) < plan.threshold : statistic >= plan.threshold;
  const out: ColumnDrift = {
    column: plan.column,
    type: plan.type,
    method: plan.method,
    statistic: Number.isFinite(statistic) ? statistic : null,
    threshold: plan.threshold,
    drifted,
    referenceRows,
    currentRows,
  };
  if (isTest) out.pValue = pValue as number;
  if (detail) out.detail = detail;
  return out;
}

export function datasetReport(columns: ColumnDrift[], options: DriftOptions): DriftReport {
  const driftShare = options.driftShare ?? 0.5;
  const drifted = columns.filter((c) => c.drifted).length;
  const share = columns.length === 0 ? 0 : drifted / columns.length;
  return {
    columns,
    numberOfColumns: columns.length,
    numberOfDriftedColumns: drifted,
    share,
    driftShare,
    datasetDrift: columns.length > 0 && share >= driftShare,
  };
}

/** Edge description for the report. */
export function binDetail(binning: DriftOptions['binning'], edges: BinEdges): ColumnDrift['detail'] {
  return { binning: binning ?? 'evidently', bins: edges.edges.length - 1 };
}

export function emptyColumnError(column: string, side: 'reference' | 'current'): FalajError {
  return new FalajError(
    'FALAJ_DATA_INVALID',
    `column '${column}' has no values in the ${side} data (after leaving out null, NaN and infinite values)`,
    { column, side },
  );
}

export function validateOptions(options: DriftOptions): void {
  const share = options.driftShare ?? 0.5;
  if (!(share > 0 && share <= 1)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'driftShare must be in (0, 1]', { driftShare: share });
  }
  const bins = options.bins ?? 10;
  if (!Number.isInteger(bins) || bins < 2 || bins > 1000) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'bins must be an integer from 2 to 1000', { bins });
  }
}
