// What a `falaj serve` replica and a server say to each other, as JSON:
//
// - the plan of a deployment (GET .../deployments/:d/plan): the DeploymentPlan a host loads,
//   with, per model version it names, the files to download and where (the artifact file route);
// - request-log entries (POST .../deployments/:d/request-log): a RequestLogEntry without what
//   the server knows better (project, deployment ids, PII policy), its batch as named columns
//   (numbers with null for NaN, or strings with null) and its prediction as plain arrays.
import type { DeploymentPlan } from '../host/catalog.js';
import type { ColumnBatch, ColumnData, Label, Prediction } from '../protocols/index.js';
import type { RequestLogEntry } from '../request-log/index.js';

/** One file of a model version, as a replica downloads it. */
export interface PlanFile {
  name: string;
  /** SHA-256 (hex): the runtime refuses a file that does not match. */
  digest: string;
  /** Relative to the server's URL: the artifact file route of the project. */
  url: string;
}

export interface PlanModel {
  format: 'falaj' | 'onnx';
  files: PlanFile[];
}

/** GET .../deployments/:deployment/plan. */
export interface PlanWire {
  plan: DeploymentPlan;
  /** Per model version id of `plan.versions`. */
  models: Record<string, PlanModel>;
}

/** PUT .../deployments/:deployment/replicas/:replicaId. */
export interface ReplicaReportWire {
  url: string;
  /** The replica's key: servers send it with the requests they forward to it. */
  key: string;
  ready: boolean;
  revision: number;
  reason: string;
}

export type WireColumn =
  | { name: string; kind: 'number'; values: (number | null)[] }
  | { name: string; kind: 'string'; values: (string | null)[] };

export type WirePrediction =
  | { kind: 'classifier'; labels: Label[]; classes: Label[]; probabilities: number[][] }
  | { kind: 'regressor'; values: (number | null)[] };

/** One request-log entry on the wire. */
export interface WireLogEntry {
  requestId: string;
  time: number;
  revision: number;
  model: string;
  modelVersion: number;
  variant: 'primary' | 'canary' | 'shadow';
  protocol: 'v2' | 'mlflow';
  status: number;
  latencyMs: number;
  error?: string;
  batch?: { rows: number; columns: WireColumn[] };
  prediction?: WirePrediction;
}

/** POST .../deployments/:deployment/request-log. */
export interface LogBatchWire {
  entries: WireLogEntry[];
}

/** The most entries one POST carries (and the server takes). */
export const MAX_LOG_BATCH = 1000;

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

function encodeColumn(name: string, data: ColumnData): WireColumn {
  if (data instanceof Float64Array) return { name, kind: 'number', values: Array.from(data, num) };
  return { name, kind: 'string', values: [...data] };
}

function encodePrediction(p: Prediction): WirePrediction {
  if (p.kind === 'classifier')
    return {
      kind: 'classifier',
      labels: [...p.labels],
      classes: [...p.classes],
      probabilities: p.probabilities.map((r) => [...r]),
    };
  return { kind: 'regressor', values: Array.from(p.values, num) };
}

export function encodeLogEntry(e: RequestLogEntry): WireLogEntry {
  const out: WireLogEntry = {
    requestId: e.requestId,
    time: e.time,
    revision: e.revision,
    model: e.model,
    modelVersion: e.modelVersion,
    variant: e.variant,
    protocol: e.protocol,
    status: e.status,
    latencyMs: e.latencyMs,
  };
  if (e.error !== undefined) out.error = e.error;
  if (e.batch && e.prediction) {
    out.batch = {
      rows: e.batch.rows,
      columns: [...e.batch.columns].map(([name, data]) => encodeColumn(name, data)),
    };
    out.prediction = encodePrediction(e.prediction);
  }
  return out;
}

/** Where the server takes an entry: the deployment it was posted to, and that deployment's PII policy. */
export interface LogTarget {
  projectId: string;
  deploymentId: string;
  deployment: string;
  privacy: { columns: readonly string[]; policy: 'hash' | 'drop' | 'keep' };
}

function bad(message: string): Error {
  return Object.assign(new Error(message), { wire: true });
}

function decodeBatch(b: NonNullable<WireLogEntry['batch']>): ColumnBatch {
  const columns = new Map<string, ColumnData>();
  for (const c of b.columns) {
    if (c.values.length !== b.rows)
      throw bad(`column '${c.name}' has ${c.values.length} values, not ${b.rows}`);
    if (c.kind === 'number')
      columns.set(
        c.name,
        Float64Array.from(c.values, (v) => (v === null ? Number.NaN : v)),
      );
    else columns.set(c.name, [...c.values]);
  }
  return { columns, rows: b.rows };
}

function decodePrediction(p: WirePrediction, rows: number): Prediction {
  if (p.kind === 'classifier') {
    if (p.labels.length !== rows || p.probabilities.length !== rows)
      throw bad('the prediction has the wrong row count');
    return { kind: 'classifier', labels: p.labels, classes: p.classes, probabilities: p.probabilities };
  }
  if (p.values.length !== rows) throw bad('the prediction has the wrong row count');
  return { kind: 'regressor', values: Float64Array.from(p.values, (v) => (v === null ? Number.NaN : v)) };
}

/** A wire entry (schema-checked by the route) as the server's RequestLogWriter takes it. */
export function decodeLogEntry(w: WireLogEntry, target: LogTarget): RequestLogEntry {
  const e: RequestLogEntry = {
    requestId: w.requestId,
    time: w.time,
    projectId: target.projectId,
    deploymentId: target.deploymentId,
    deployment: target.deployment,
    revision: w.revision,
    model: w.model,
    modelVersion: w.modelVersion,
    variant: w.variant,
    protocol: w.protocol,
    status: w.status,
    latencyMs: w.latencyMs,
    privacy: target.privacy,
  };
  if (w.error !== undefined) e.error = w.error;
  if (w.batch && w.prediction) {
    e.batch = decodeBatch(w.batch);
    e.prediction = decodePrediction(w.prediction, w.batch.rows);
  }
  return e;
}
