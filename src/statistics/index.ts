// The statistics core: drift tests and fairness metrics, computed one way for datasets,
// validation, evaluation gates and monitoring. In memory for small data and exact checks; in
// DuckDB for tables and CSV/Parquet files, with the same numbers.
export type { BinEdges, Binning, EdgeMode } from './binning.js';
export {
  chiSquaredSf,
  erfc,
  gammaP,
  gammaQ,
  kolmogorovSf,
  ksTwoSampleExactSf,
  lnGamma,
  normalCdf,
  normalSf,
} from './distributions.js';
export { computeDriftDuckDB, type DuckDBDriftOptions } from './drift-duckdb.js';
export { computeDrift } from './drift-memory.js';
export { autoMethod, SMALL_REFERENCE_ROWS } from './drift-rules.js';
export type {
  ColumnDrift,
  ColumnDriftOptions,
  DriftMethod,
  DriftOptions,
  DriftReport,
} from './drift-types.js';
export { DEFAULT_THRESHOLDS } from './drift-types.js';
export { fairnessFromCounts, theilFromCounts } from './fairness.js';
export { computeFairnessDuckDB } from './fairness-duckdb.js';
export { computeFairness, type FairnessColumns } from './fairness-memory.js';
export type {
  FairnessOptions,
  FairnessReport,
  GroupCounts,
  GroupMetrics,
  GroupValue,
  RateSummary,
} from './fairness-types.js';
export type { TableSource } from './sql.js';
export {
  chiSquareGoodnessOfFit,
  compareSorted,
  fillZeroShares,
  jensenShannonDistance,
  ksTwoSample,
  lInfinityDistance,
  normalisedWasserstein,
  populationStabilityIndex,
  populationStd,
  zTestTwoProportions,
} from './two-sample.js';
export type { CategoryKey, ColumnInput, ColumnType, TableInput } from './values.js';
