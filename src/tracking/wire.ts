import type { RunsTable } from '../store/schema.js';
import type { Experiment } from './experiment-store.js';
import type { MetricPoint } from './metric-store.js';
import type { KeyValue } from './validation.js';

// MLflow's JSON is protobuf's JSON mapping: unset fields and empty lists are left out, int64
// values are numbers (MLflow's message_to_json turns them back from strings), and a double that
// JSON cannot carry is the string "NaN", "Infinity" or "-Infinity".

export type WireDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export function wireDouble(v: number): WireDouble {
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

export function wireMetric(m: MetricPoint) {
  return { key: m.key, value: wireDouble(m.value), timestamp: m.timestamp, step: m.step };
}

function withList<T extends object, V>(obj: T, field: string, list: V[]): T {
  return list.length > 0 ? { ...obj, [field]: list } : obj;
}

export function wireExperiment(e: Experiment) {
  return withList(
    {
      experiment_id: e.id,
      name: e.name,
      artifact_location: e.artifact_location,
      lifecycle_stage: e.lifecycle_stage,
      last_update_time: Number(e.last_update_time),
      creation_time: Number(e.creation_time),
    },
    'tags',
    e.tags,
  );
}

export function wireRunInfo(r: RunsTable) {
  return {
    run_id: r.id,
    run_uuid: r.id,
    run_name: r.name,
    experiment_id: r.experiment_id,
    user_id: r.user_id,
    status: r.status,
    start_time: Number(r.start_time),
    ...(r.end_time === null || r.end_time === undefined ? {} : { end_time: Number(r.end_time) }),
    artifact_uri: r.artifact_uri,
    lifecycle_stage: r.lifecycle_stage,
  };
}

export interface WireDatasetInput {
  tags?: KeyValue[];
  dataset: {
    name: string;
    digest: string;
    source_type: string;
    source: string;
    schema?: string;
    profile?: string;
  };
}

export interface LoadedRun {
  info: RunsTable;
  metrics: MetricPoint[];
  params: KeyValue[];
  tags: KeyValue[];
  inputs: WireDatasetInput[];
}

export function wireRun(r: LoadedRun) {
  let data = {};
  data = withList(data, 'metrics', r.metrics.map(wireMetric));
  data = withList(data, 'params', r.params);
  data = withList(data, 'tags', r.tags);
  return {
    info: wireRunInfo(r.info),
    data,
    inputs: withList({}, 'dataset_inputs', r.inputs),
  };
}
