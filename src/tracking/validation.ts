import { FalajError } from '../core/errors.js';
import { LIMITS } from './limits.js';

/** A value MLflow would answer with INVALID_PARAMETER_VALUE. */
export function invalid(message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', message);
}

// MLflow's _VALID_PARAM_AND_METRIC_NAMES: alphanumerics, underscores, periods, dashes, spaces, slashes.
const KEY_PATTERN = /^[/\w.\- ]*$/u;

/**
 * A metric, param or tag key as MLflow accepts it: the allowed characters, at most 250 of
 * them, and a path that does not change when normalised (keys become file paths in MLflow's
 * file store, so `a//b`, `./a`, `a/..` and `/a` are refused there; refused here alike).
 */
export function validateKey(kind: 'metric' | 'param' | 'tag', key: unknown): string {
  if (typeof key !== 'string' || key === '')
    throw invalid(`Missing value for required parameter '${kind} key'`);
  if (key.length > LIMITS.keyLength)
    throw invalid(`${kind} key '${key.slice(0, 40)}...' exceeds the maximum length of ${LIMITS.keyLength}`);
  if (!KEY_PATTERN.test(key)) {
    throw invalid(
      `Invalid ${kind} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).`,
    );
  }
  const segments = key.split('/');
  if (key.startsWith('/') || key.endsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(
      `Invalid ${kind} name: '${key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such.`,
    );
  }
  return key;
}

/** A string field; NUL characters are refused (PostgreSQL cannot store them in text). */
export function validateString(field: string, value: unknown, maxLength: number, required = true): string {
  if (value === undefined || value === null) {
    if (required) throw invalid(`Missing value for required parameter '${field}'`);
    return '';
  }
  // MLflow's protobuf parsing turns numbers into their text for string fields of params and tags.
  const s = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
  if (typeof s !== 'string') throw invalid(`Invalid value for parameter '${field}': expected a string`);
  if (s.length > maxLength)
    throw invalid(`'${field}' of length ${s.length} exceeds the maximum length of ${maxLength}`);
  if (s.includes('\u0000')) throw invalid(`'${field}' must not contain NUL characters`);
  return s;
}

/**
 * A metric value as MLflow clients send it: a JSON number, or protobuf's JSON mapping of a
 * double, the strings "NaN", "Infinity", "-Infinity" or a number in text (the R client sends
 * every value as text). Returns a JS number, NaN and ±Infinity included.
 */
export function parseMetricValue(value: unknown, key: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    const trimmed = value.trim();
    const n = trimmed === '' ? Number.NaN : Number(trimmed);
    if (!Number.isNaN(n)) return n;
  }
  if (value === undefined || value === null)
    throw invalid(`Missing value for required parameter 'value' of metric '${key}'`);
  throw invalid(
    `Got invalid value ${JSON.stringify(value)?.slice(0, 60)} for metric '${key}': expected a number`,
  );
}

/**
 * An int64 field (times, steps): a JSON integer or its text (protobuf's JSON mapping writes
 * int64 as a string). Limited to the integers a JS number holds exactly.
 */
export function parseInt64(field: string, value: unknown, fallback?: number): number {
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw invalid(`Missing value for required parameter '${field}'`);
  }
  const n = typeof value === 'string' && /^-?\d{1,19}$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw invalid(
      `Invalid value ${JSON.stringify(value)?.slice(0, 60)} for parameter '${field}': expected an integer`,
    );
  return n;
}

/** An optional int32-ish count (max_results) within [1, max]. */
export function parseMaxResults(value: unknown, fallback: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  const n = parseInt64('max_results', value);
  if (n < 1 || n > max)
    throw invalid(
      `Invalid value ${n} for parameter 'max_results' supplied. It must be between 1 and ${max}.`,
    );
  return n;
}

export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export function parseViewType(field: string, value: unknown): ViewType {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null || v === '') return 'ACTIVE_ONLY';
  if (v === 'ACTIVE_ONLY' || v === 'DELETED_ONLY' || v === 'ALL') return v;
  // protobuf's enum numbers are accepted as well.
  if (v === 1 || v === '1') return 'ACTIVE_ONLY';
  if (v === 2 || v === '2') return 'DELETED_ONLY';
  if (v === 3 || v === '3') return 'ALL';
  throw invalid(`Invalid value ${JSON.stringify(v)?.slice(0, 60)} for parameter '${field}'`);
}

/** A string list from JSON or from repeated query keys (a single key arrives as a string). */
export function parseStringList(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => validateString(field, v, 100_000));
}

export interface KeyValue {
  key: string;
  value: string;
}

/** A `[{key, value}]` tag list. */
export function parseTags(field: string, value: unknown, maxValueLength = LIMITS.tagValueLength): KeyValue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`Invalid value for parameter '${field}': expected a list`);
  return value.map((t) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      throw invalid(`Invalid value for parameter '${field}': expected a list of {key, value}`);
    const o = t as Record<string, unknown>;
    return { key: validateKey('tag', o.key), value: validateString('tag value', o.value, maxValueLength) };
  });
}

/** `run_id`, or the legacy `run_uuid` that older clients send. */
export function runIdOf(body: { run_id?: unknown; run_uuid?: unknown }): string {
  const id = body.run_id ?? body.run_uuid;
  if (id === undefined || id === null || id === '')
    throw invalid("Missing value for required parameter 'run_id'");
  return validateString('run_id', id, 256);
}

/** Plain object check for JSON bodies that may be anything. */
export function asRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return value as Record<string, unknown>;
}
