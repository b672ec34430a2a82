// The request log of serving: every inference request (or a sampled share) batched off the
// request path into Parquet files in the artifact store, one per deployment and hour per flush,
// and the ground-truth labels that arrive later, read back through DuckDB (openRequestLog).
// At start, serving calls holdRequestLogBlobs(svc) once so that the blob reaper keeps the files.
export { holdRequestLogBlobs } from './blobs.js';
export { HOUR_MS, hourOf, type RequestLogEntry } from './entry.js';
export { parseLabelFile } from './label-file.js';
export { type LabelInput, MAX_LABELS, MAX_REQUEST_ID, recordLabels } from './labels.js';
export { FIXED_COLUMNS } from './layout.js';
export { logFilePath } from './log-file.js';
export { hashValue, projectHashKey } from './pii-key.js';
export { logFilesOf, openRequestLog, type RequestLogReader } from './reader.js';
export {
  type RequestLogStats,
  RequestLogWriter,
  type RequestLogWriterOptions,
  sampleShare,
} from './writer.js';
