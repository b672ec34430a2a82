export { FalajApiError, type RetryPolicy } from '../client/index.js';
export { Falaj, type FalajOptions, type StartRunOptions } from './falaj.js';
export { BATCH_LIMITS } from './log-buffer.js';
export { Run, runArtifactPrefix } from './run.js';
export type {
  ArtifactFile,
  Experiment,
  KeyValue,
  Metric,
  RunData,
  RunInfo,
  RunRecord,
  RunStatus,
  SearchRunsOptions,
  SearchRunsPage,
  UploadedArtifact,
  ViewType,
} from './types.js';
export { decodeMetricValue, encodeMetricValue } from './wire.js';
