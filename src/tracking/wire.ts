import type { RunsTable } from '../store/schema.js';
import type { Experiment } from './experiment-store.js';
import type { HistoryPage, MetricPoint } from './metric-store.js';
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

/**
 * A get-history response as JSON text, written straight from the page's columns: a page is
 * up to 100,000 points, and one object per point plus JSON.stringify was most of a read.
 * Numbers print as JSON.stringify prints them; NaN and ±Infinity as MLflow's strings.
 */
export function historyJson(page: HistoryPage): string {
  const n = page.steps.length;
  const head = `{"key":${JSON.stringify(page.key)},"value":`;
  const parts: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = page.values[i] as number;
    const value = Number.isFinite(v) ? String(v) : `"${wireDouble(v)}"`;
    parts[i] = `${head}${value},"timestamp":${page.timestamps[i]},"step":${page.steps[i]}}`;
  }
  const token = page.nextPageToken ? `"next_page_token":${JSON.stringify(page.nextPageToken)}` : '';
  if (n === 0) return `{${token}}`;
  return `{"metrics":[${parts.join(',')}]${token ? `,${token}` : ''}}`;
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
