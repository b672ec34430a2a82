import { LIMITS } from './limits.js';
import type { MetricPoint } from './metric-store.js';
import {
  invalid,
  type KeyValue,
  parseInt64,
  parseMetricValue,
  validateKey,
  validateString,
} from './validation.js';

function list(field: string, value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`Invalid value for parameter '${field}': expected a list`);
  return value;
}

function entry(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`Invalid value for parameter '${field}': expected a list of objects`);
  return value as Record<string, unknown>;
}

/** One metric of log-metric or log-batch; `keys` caches keys already validated in this request. */
export function parseMetric(raw: unknown, now: number, keys?: Set<string>): MetricPoint {
  const m = entry('metrics', raw);
  const key = typeof m.key === 'string' && keys?.has(m.key) ? m.key : validateKey('metric', m.key);
  keys?.add(key);
  return {
    key,
    value: parseMetricValue(m.value, key),
    timestamp: parseInt64('timestamp', m.timestamp, now),
    step: parseInt64('step', m.step, 0),
  };
}

export function parseParam(raw: unknown): KeyValue {
  const p = entry('params', raw);
  return {
    key: validateKey('param', p.key),
    value: validateString('param value', p.value, LIMITS.paramValueLength),
  };
}

export function parseTag(raw: unknown): KeyValue {
  const t = entry('tags', raw);
  return {
    key: validateKey('tag', t.key),
    value: validateString('tag value', t.value, LIMITS.tagValueLength),
  };
}

/** A log-batch body, checked against MLflow's limits before anything is parsed further. */
export function parseBatch(
  body: Record<string, unknown>,
  now: number,
): { metrics: MetricPoint[]; params: KeyValue[]; tags: KeyValue[] } {
  const metrics = list('metrics', body.metrics);
  const params = list('params', body.params);
  const tags = list('tags', body.tags);
  const total = metrics.length + params.length + tags.length;
  if (metrics.length > LIMITS.batchMetrics)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.batchMetrics} metrics. Got ${metrics.length} metrics.`,
    );
  if (params.length > LIMITS.batchParams)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.batchParams} params. Got ${params.length} params.`,
    );
  if (tags.length > LIMITS.batchTags)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.batchTags} tags. Got ${tags.length} tags.`,
    );
  if (total > LIMITS.batchTotal)
    throw invalid(
      `A batch logging request can contain at most ${LIMITS.batchTotal} total metrics, params and tags. Got ${total}.`,
    );
  const keys = new Set<string>();
  return {
    metrics: metrics.map((m) => parseMetric(m, now, keys)),
    params: params.map(parseParam),
    tags: tags.map(parseTag),
  };
}
