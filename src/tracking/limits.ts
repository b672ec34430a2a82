// MLflow's server-side limits (mlflow/utils/validation.py), enforced the same way here so that
// a client that works against MLflow works against Falaj and vice versa.
export const LIMITS = {
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
  /** MLflow's MAX_BATCH_LOG_REQUEST_SIZE: 1 MB (10^6 bytes). */
  batchBodyBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
  datasetsPerRequest: 1000,
  datasetFieldLength: 500,
  datasetSchemaLength: 1_048_576,
  searchRunsDefault: 1000,
  searchRunsMax: 50_000,
  searchExperimentsDefault: 1000,
  searchExperimentsMax: 50_000,
  /** The page the MLflow Python client asks for (GET_METRIC_HISTORY_MAX_RESULTS). */
  historyDefault: 25_000,
  // A page is built in memory (about 1 KB of server memory per point at this size): larger
  // pages would let one request take gigabytes. Clients page with next_page_token.
  historyMax: 100_000,
} as const;
