// The plugin scope of MLflow's Model Registry API, as tracking builds its own: errors in
// MLflow's shape with MLflow's statuses (the registry's codes included), and the lenient JSON
// parser MLflow clients need (an empty body; bare NaN/Infinity tokens). Also the field reading
// all registry handlers share: GET fields from the query, POST/PATCH/DELETE from the JSON body
// (with the query as fallback: some clients send DELETE fields there).
import type { FastifyRequest } from 'fastify';
import type { ErrorCode, FalajError } from '../core/errors.js';
import type { FalajApp } from '../http/services.js';
import { installMlflowScope, type MlflowErrorCode, mlflowCodeOf } from '../tracking/mlflow-errors.js';
import { normalizeQuery, scalar } from '../tracking/query.js';
import { asRecord, invalid, validateKey, validateString } from '../tracking/validation.js';
import type { KeyValue } from './model-store.js';
import { validateModelName } from './model-store.js';
import { parseVersionNumber } from './version-store.js';

const REGISTRY_CODES: Partial<Record<ErrorCode, MlflowErrorCode>> = {
  FALAJ_MODEL_NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  FALAJ_MODEL_VERSION_NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  FALAJ_MODEL_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  // MLflow answers a missing alias with INVALID_PARAMETER_VALUE, not RESOURCE_DOES_NOT_EXIST.
  FALAJ_ALIAS_NOT_FOUND: 'INVALID_PARAMETER_VALUE',
  FALAJ_ALIAS_INVALID: 'INVALID_PARAMETER_VALUE',
  FALAJ_ALIAS_PROTECTED: 'PERMISSION_DENIED',
  FALAJ_MODEL_URI_INVALID: 'INVALID_PARAMETER_VALUE',
  FALAJ_MODEL_SOURCE_INVALID: 'INVALID_PARAMETER_VALUE',
  FALAJ_ONNX_INVALID: 'INVALID_PARAMETER_VALUE',
};

/** The MLflow error code of a Falaj error on the registry surface. */
export function registryMlflowCode(err: FalajError): MlflowErrorCode {
  return REGISTRY_CODES[err.code] ?? mlflowCodeOf(err);
}

/** MLflow's error shape (with the registry's codes) and its lenient JSON parser. */
export function installRegistryMlflowScope(scope: FalajApp): void {
  installMlflowScope(scope, registryMlflowCode);
}

/** The request's fields: the query for GET, else the JSON body over the query. */
export function fieldsOf(req: FastifyRequest): Record<string, unknown> {
  const query = normalizeQuery(req.query);
  if (req.method === 'GET') return query;
  const flat: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) flat[k] = Array.isArray(v) && k !== 'stages' ? scalar(v) : v;
  return { ...flat, ...asRecord(req.body) };
}

/** A scalar field (the first of repeated query values). */
export function one(f: Record<string, unknown>, field: string): unknown {
  return scalar(f[field]);
}

export function nameOf(f: Record<string, unknown>, field = 'name'): string {
  return validateModelName(one(f, field), field);
}

export function versionOf(f: Record<string, unknown>): number {
  return parseVersionNumber(one(f, 'version'));
}

export function requiredString(f: Record<string, unknown>, field: string, max = 100_000): string {
  const v = one(f, field);
  if (v === undefined || v === null || v === '')
    throw invalid(`Missing value for required parameter '${field}'`);
  return validateString(field, v, max);
}

export function optionalString(f: Record<string, unknown>, field: string, max = 100_000): string | undefined {
  const v = one(f, field);
  return v === undefined || v === null ? undefined : validateString(field, v, max);
}

/** MLflow's limit on a registry tag value. */
export const TAG_VALUE_MAX = 100_000;

/** A `[{key, value}]` tag list with tracking's key rules and the registry's value limit. */
export function tagsOf(f: Record<string, unknown>): KeyValue[] {
  const value = f.tags;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid("Invalid value for parameter 'tags': expected a list");
  return value.map((t) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      throw invalid("Invalid value for parameter 'tags': expected a list of {key, value}");
    const o = t as Record<string, unknown>;
    return { key: validateKey('tag', o.key), value: validateString('tag value', o.value, TAG_VALUE_MAX) };
  });
}

export function tagKeyOf(f: Record<string, unknown>): string {
  return validateKey('tag', one(f, 'key'));
}

/** A boolean field as JSON or query text; absent is false. */
export function boolOf(f: Record<string, unknown>, field: string): boolean {
  const v = one(f, field);
  if (v === undefined || v === null || v === '') return false;
  if (v === true || v === 'true' || v === 'True') return true;
  if (v === false || v === 'false' || v === 'False') return false;
  throw invalid(
    `Invalid value ${JSON.stringify(v)?.slice(0, 40)} for parameter '${field}': expected a boolean`,
  );
}

/** order_by as a list (repeated query keys or a JSON array). */
export function listOf(f: Record<string, unknown>, field: string): string[] | undefined {
  const v = f[field];
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => validateString(field, x, 1000));
}
