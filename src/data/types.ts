// The plain-JSON shapes of the data domain: what the API returns and the tables store.

export type SourceFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl';

export interface ColumnSchema {
  name: string;
  /** DuckDB's type name: DOUBLE, VARCHAR, BOOLEAN, DATE, TIMESTAMP, BIGINT (Parquet/JSON), ... */
  type: string;
}

export interface SchemaDiff {
  added: ColumnSchema[];
  removed: ColumnSchema[];
  retyped: { name: string; from: string; to: string }[];
}

export type ColumnKind = 'numeric' | 'boolean' | 'temporal' | 'text' | 'other';

export interface ColumnProfile {
  name: string;
  type: string;
  kind: ColumnKind;
  /** Non-null values. */
  count: number;
  nulls: number;
  nullFraction: number;
  /** Exact up to QUANTILE_EXACT_ROWS rows, HyperLogLog (approx_count_distinct) above. */
  distinct: number;
  /** Numbers for numeric columns, ISO text for temporal ones, text for the rest; null when all values are null. */
  min: number | string | boolean | null;
  max: number | string | boolean | null;
  mean?: number | null;
  /** Sample standard deviation. */
  std?: number | null;
  /** Keys '0.05', '0.25', '0.5', '0.75', '0.95'. */
  quantiles?: Record<string, number | null>;
  /** Equal-width bins over [min, max]: `edges` has one more entry than `counts`. */
  histogram?: { edges: number[]; counts: number[] };
  /** The most frequent values with their exact counts (candidates from approx_top_k). */
  topValues?: { value: string; count: number }[];
}

export interface Profile {
  rowCount: number;
  columns: ColumnProfile[];
  /** Quantiles and distinct counts: exact up to QUANTILE_EXACT_ROWS rows, estimated (t-digest, HyperLogLog) above. */
  quantiles: 'exact' | 'approximate';
}

/** Great Expectations' configuration shape: `{expectation_type, kwargs, meta}`. */
export interface Expectation {
  expectation_type: string;
  kwargs: Record<string, unknown>;
  meta?: Record<string, unknown>;
}

export interface Suite {
  name?: string;
  expectations: Expectation[];
  meta?: Record<string, unknown>;
}

export interface ExpectationResult {
  success: boolean;
  expectation_config: Expectation;
  result: {
    element_count?: number;
    missing_count?: number;
    missing_percent?: number;
    unexpected_count?: number;
    unexpected_percent?: number;
    partial_unexpected_list?: unknown[];
    /** Falaj's addition: the failing rows (0-based row index and the columns checked). */
    partial_unexpected_rows?: { row: number; values: Record<string, unknown> }[];
    observed_value?: unknown;
    details?: Record<string, unknown>;
  };
  /** Set when the expectation could not be evaluated (a missing column, say): it then failed. */
  exception_info?: { raised_exception: boolean; exception_message: string };
}

export interface ValidationResult {
  success: boolean;
  suite_name: string | null;
  statistics: {
    evaluated_expectations: number;
    successful_expectations: number;
    unsuccessful_expectations: number;
    success_percent: number;
  };
  results: ExpectationResult[];
}

export type VersionStatus = 'unvalidated' | 'passed' | 'failed';
