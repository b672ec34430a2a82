export { FalajApiError, type RetryPolicy } from '../client/index.js';
export { Falaj, type FalajOptions, type StartRunOptions } from './falaj.js';
export { BATCH_LIMITS } from './log-buffer.js';
export {
  type AliasChange,
  type EvaluateOptions,
  type EvaluationResult,
  type FairnessEntry,
  type FairnessReport,
  type GateCheck,
  type GatePolicyRevision,
  type GateRun,
  type ListPromotionsOptions,
  type ModelCard,
  type ModelEvaluation,
  type ModelSignature,
  Models,
  type ModelVersion,
  type ModelVersionRef,
  type PromotionDecision,
  type PromotionRequest,
  type PromotionState,
  type RegisteredModel,
  type RegisteredModelDetail,
  type RegisteredVersion,
  type RegisterModelOptions,
  type RequestPromotionOptions,
  type SignatureField,
} from './models.js';
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
