// The drift report and its options: plain JSON, the same from the in-memory and DuckDB paths.
import type { Binning } from './binning.js';
import type { ColumnType } from './values.js';

/**
 * ks: two-sample Kolmogorov–Smirnov (p-value) · chisquare: Evidently's goodness-of-fit of current
 * counts to reference shares (p-value) · z: two-proportion Z-test (p-value) · wasserstein: W₁ /
 * reference std · jensenshannon: JS distance (base e) · psi: population stability index ·
 * linf: L∞ distance of frequencies.
 */
export type DriftMethod = 'ks' | 'chisquare' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi' | 'linf';

export const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'chisquare', 'z']);

/** Evidently's defaults: p < 0.05 for the tests, ≥ 0.1 for the distances (TFDV sets none for L∞: 0.1 here). */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
  linf: 0.1,
};

export interface ColumnDriftOptions {
  /** The test to use instead of the automatic choice. */
  method?: DriftMethod;
  /** p-value below which (tests) or statistic at or above which (distances) the column drifted. */
  threshold?: number;
  /** Override the inferred type (e.g. integer codes that are really categories). */
  type?: ColumnType;
}

export interface DriftOptions {
  /** Columns to compare; default every column of the reference. */
  columns?: readonly string[];
  /** Applied to every column unless the column's own options say otherwise. */
  method?: DriftMethod;
  threshold?: number;
  perColumn?: Readonly<Record<string, ColumnDriftOptions>>;
  /** Dataset drift when the share of drifted columns is ≥ this (Evidently's `drift_share`, 0.5). */
  driftShare?: number;
  /** How PSI (and JS/L∞ on numbers, when chosen by hand) bins numeric columns; default 'evidently'. */
  binning?: Binning;
  /** Bin count for 'equal-width' and 'quantile' binning (default 10). */
  bins?: number;
}

export interface ColumnDrift {
  column: string;
  type: ColumnType;
  method: DriftMethod;
  /** D, χ², z, W₁/σ, JS distance, PSI or L∞; null only when infinite (χ² with a category new in current). */
  statistic: number | null;
  /** For ks, chisquare and z. */
  pValue?: number;
  threshold: number;
  drifted: boolean;
  /** Non-missing values compared (null, NaN and ±Infinity are left out, as Evidently does). */
  referenceRows: number;
  currentRows: number;
  /** How the statistic was obtained, where there is a choice (KS p-value method, binning). */
  detail?: { ksPValue?: 'exact' | 'asymptotic'; binning?: Binning | 'categories'; bins?: number };
}

export interface DriftReport {
  columns: ColumnDrift[];
  numberOfColumns: number;
  numberOfDriftedColumns: number;
  /** numberOfDriftedColumns / numberOfColumns. */
  share: number;
  driftShare: number;
  datasetDrift: boolean;
}
