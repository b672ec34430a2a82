import type { ColumnBatch, Prediction } from '../protocols/index.js';

/** One inference request as the serving path reports it to the request log. */
export interface RequestLogEntry {
  requestId: string;
  /** Epoch ms. */
  time: number;
  projectId: string;
  deploymentId: string;
  /** The deployment's name (the artifact path of its log files). */
  deployment: string;
  revision: number;
  model: string;
  modelVersion: number;
  variant: 'primary' | 'canary' | 'shadow';
  protocol: 'v2' | 'mlflow';
  /** HTTP status. */
  status: number;
  latencyMs: number;
  error?: string;
  /** Present when the request parsed; the rows are logged one log row per batch row. */
  batch?: ColumnBatch;
  prediction?: Prediction;
  /** Input columns tagged PII in the training data, and what the deployment's policy does with them. */
  privacy?: { columns: readonly string[]; policy: 'hash' | 'drop' | 'keep' };
}

/** The log rows an entry gives: one per batch row, one for a request without rows (a failure). */
export function rowsOf(entry: RequestLogEntry): number {
  const n = entry.batch?.rows ?? 0;
  return n > 0 ? n : 1;
}

export const HOUR_MS = 3_600_000;

/** Epoch ms of the start of the UTC hour `time` falls in (the partition). */
export function hourOf(time: number): number {
  return Math.floor(time / HOUR_MS) * HOUR_MS;
}
