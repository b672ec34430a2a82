// The Open Inference Protocol (KServe V2), REST, as a pure codec: parse an infer request into a
// ColumnBatch for a model signature, encode a Prediction as an infer response, and build the
// metadata and readiness bodies. Errors are InferenceProtocolError with {"error": "..."}.
// Spec: kserve docs/predict-api/v2/required_api.md; docs/serving-protocols.md says what we take.

import { checkLimits, newColumn, putJson, typeList } from './cells.js';
import { InferenceProtocolError, InputError } from './errors.js';
import {
  type BatchLimits,
  type ColumnBatch,
  type ColumnData,
  type ColumnSpec,
  type ColumnType,
  DEFAULT_LIMITS,
  type Label,
  type ModelSignature,
  type Prediction,
} from './model-io.js';

export const V2_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];

export type V2Parameters = Record<string, string | number | boolean>;

export interface V2InferInput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  parameters?: V2Parameters;
  data: unknown[];
}

export interface V2InferRequest {
  id?: string;
  parameters?: V2Parameters;
  inputs: V2InferInput[];
  outputs?: { name: string; parameters?: V2Parameters }[];
}

export interface V2InferOutput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  parameters?: V2Parameters;
  data: (number | string | boolean)[];
}

export interface V2InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: V2Parameters;
  outputs: V2InferOutput[];
}

/** A parsed infer request: the batch for the model, and what the response must echo or honour. */
export interface ParsedV2Request {
  id?: string;
  parameters?: V2Parameters;
  /** The output names asked for, in request order; undefined = all of the model's outputs. */
  outputs?: string[];
  batch: ColumnBatch;
  /** 'columns': one input per model column; 'tensor': one 2-D [rows, columns] input. */
  layout: 'columns' | 'tensor';
}

function fail(message: string, status = 400): never {
  throw new InferenceProtocolError('v2', status, message);
}

const INT_RANGES: Partial<Record<V2Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const FP_MAX: Partial<Record<V2Datatype, number>> = {
  FP16: 65504,
  FP32: 3.4028234663852886e38,
  FP64: Number.MAX_VALUE,
};

const INTEGER_DATATYPES: readonly V2Datatype[] = V2_DATATYPES.filter((d) => /^U?INT/.test(d));
const NUMERIC_DATATYPES: readonly V2Datatype[] = V2_DATATYPES.filter((d) => d !== 'BOOL' && d !== 'BYTES');

/** The V2 datatypes a model column of this type takes. */
export function datatypesFor(type: ColumnType): readonly V2Datatype[] {
  switch (type) {
    case 'bool':
      return ['BOOL'];
    case 'int32':
    case 'int64':
      return INTEGER_DATATYPES;
    case 'float':
    case 'double':
      return NUMERIC_DATATYPES;
    case 'string':
      return ['BYTES'];
  }
}

/** The datatype a model column is described with in model metadata. */
export function datatypeOf(type: ColumnType): V2Datatype {
  const map: Record<ColumnType, V2Datatype> = {
    bool: 'BOOL',
    int32: 'INT32',
    int64: 'INT64',
    float: 'FP32',
    double: 'FP64',
    string: 'BYTES',
  };
  return map[type];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkParameters(v: unknown, where: string): V2Parameters | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(`${where} 'parameters' must be an object`);
  for (const [k, x] of Object.entries(v))
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean')
      fail(`${where} parameter '${k}' must be a string, a number or a boolean`);
  return v as V2Parameters;
}

function checkShape(shape: unknown, name: string): number[] {
  if (!Array.isArray(shape) || shape.length === 0)
    fail(`input '${name}': 'shape' must be a non-empty array of dimensions`);
  for (const d of shape)
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      fail(
        `input '${name}': shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`,
      );
  return shape as number[];
}

/** `data` as a flat row-major array, checked against `shape` (flat, or nested exactly as shape). */
function flatten(data: unknown, shape: number[], name: string): unknown[] {
  if (!Array.isArray(data)) fail(`input '${name}': 'data' must be an array`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (!data.some(Array.isArray)) {
    if (data.length !== size)
      fail(
        `input '${name}': shape ${JSON.stringify(shape)} holds ${size} elements but 'data' has ${data.length}`,
      );
    return data;
  }
  const out = new Array<unknown>(size);
  let k = 0;
  const walk = (v: unknown[], depth: number): void => {
    if (v.length !== shape[depth])
      fail(
        `input '${name}': nested 'data' does not match shape ${JSON.stringify(shape)} ` +
          `(${v.length} elements at depth ${depth}, expected ${shape[depth]})`,
      );
    if (depth === shape.length - 1) {
      for (const x of v) {
        if (Array.isArray(x))
          fail(`input '${name}': 'data' is nested deeper than shape ${JSON.stringify(shape)}`);
        out[k++] = x;
      }
      return;
    }
    for (const x of v) {
      if (!Array.isArray(x))
        fail(
          `input '${name}': nested 'data' does not match shape ${JSON.stringify(shape)} (a value at depth ${depth})`,
        );
      walk(x, depth + 1);
    }
  };
  walk(data, 0);
  return out;
}

/** Check one element against the input's datatype, giving the value for putJson. */
function checkElement(datatype: V2Datatype, v: unknown, at: () => string): unknown {
  if (datatype === 'BYTES') {
    if (typeof v !== 'string') fail(`${at()}: expected a string for BYTES, got ${JSON.stringify(v)}`);
    return v;
  }
  if (datatype === 'BOOL') {
    if (typeof v !== 'boolean') fail(`${at()}: expected true or false for BOOL, got ${JSON.stringify(v)}`);
    return v;
  }
  if (v === null && datatype.startsWith('FP')) return null; // a missing value, if the column takes one
  if (typeof v !== 'number')
    fail(
      `${at()}: expected a number for ${datatype}, got ${typeof v === 'string' ? 'a string' : JSON.stringify(v)}`,
    );
  const range = INT_RANGES[datatype];
  if (range) {
    if (!Number.isInteger(v)) fail(`${at()}: ${v} is not an integer (${datatype})`);
    if (v < range[0] || v > range[1]) fail(`${at()}: ${v} is out of range for ${datatype}`);
  } else {
    const max = FP_MAX[datatype] as number;
    if (Number.isFinite(v) && Math.abs(v) > max) fail(`${at()}: ${v} is out of range for ${datatype}`);
  }
  return v;
}

interface RawInput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  data: unknown;
}

function checkInput(v: unknown, i: number): RawInput {
  if (!isObject(v)) fail(`inputs[${i}] must be an object`);
  const name = v['name'];
  if (typeof name !== 'string' || name === '') fail(`inputs[${i}] needs a 'name' (a string)`);
  const shape = checkShape(v['shape'], name);
  const datatype = v['datatype'];
  if (typeof datatype !== 'string' || !(V2_DATATYPES as readonly string[]).includes(datatype))
    fail(`input '${name}': datatype ${JSON.stringify(datatype)} is not one of ${V2_DATATYPES.join(', ')}`);
  const params = checkParameters(v['parameters'], `input '${name}'`);
  if (params && 'binary_data_size' in params)
    fail(`input '${name}': the binary data extension is not supported; send 'data' as JSON`);
  if (!('data' in v)) fail(`input '${name}' has no 'data'`);
  return { name, shape, datatype: datatype as V2Datatype, data: v['data'] };
}

function fillColumn(
  spec: ColumnSpec,
  col: ColumnData,
  input: RawInput,
  flat: unknown[],
  offset: number,
  stride: number,
  rows: number,
): void {
  const label =
    input.name === spec.name ? `input '${input.name}'` : `input '${input.name}' column '${spec.name}'`;
  // The slow path: the full checks, and the error naming the row.
  const slow = (r: number, v: unknown): void => {
    const at = () => `${label} row ${r}`;
    putJson(spec, col, r, checkElement(input.datatype, v, at), at);
  };
  const datatype = input.datatype;
  if (col instanceof Float64Array) {
    if (datatype === 'BOOL') {
      for (let r = 0, k = offset; r < rows; r++, k += stride) {
        const v = flat[k];
        if (typeof v === 'boolean') col[r] = v ? 1 : 0;
        else slow(r, v);
      }
      return;
    }
    // The fast path for the common case: a finite number in range for both datatype and column.
    const range = INT_RANGES[datatype];
    const integral = range !== undefined || spec.type === 'int32' || spec.type === 'int64';
    let lo = range ? range[0] : -(FP_MAX[datatype] as number);
    let hi = range ? range[1] : (FP_MAX[datatype] as number);
    if (spec.type === 'int32') {
      lo = Math.max(lo, -2147483648);
      hi = Math.min(hi, 2147483647);
    } else if (spec.type === 'int64') {
      lo = Math.max(lo, Number.MIN_SAFE_INTEGER);
      hi = Math.min(hi, Number.MAX_SAFE_INTEGER);
    }
    for (let r = 0, k = offset; r < rows; r++, k += stride) {
      const v = flat[k];
      if (typeof v === 'number' && v >= lo && v <= hi && (!integral || Number.isInteger(v))) col[r] = v;
      else slow(r, v);
    }
    return;
  }
  for (let r = 0, k = offset; r < rows; r++, k += stride) {
    const v = flat[k];
    if (typeof v === 'string') col[r] = v;
    else slow(r, v);
  }
}

function checkDatatype(spec: ColumnSpec, input: RawInput): void {
  if (!datatypesFor(spec.type).includes(input.datatype))
    fail(
      `input '${input.name}': datatype ${input.datatype} does not fit column '${spec.name}' (${spec.type}); ` +
        `send one of ${datatypesFor(spec.type).join(', ')}`,
    );
}

/**
 * Parse a V2 infer request body (already JSON-parsed) for a model with this signature.
 * One input per model column (shape [rows] or [rows, 1]), or one 2-D input [rows, columns]
 * holding the columns in signature order. Throws InferenceProtocolError (400, 413 over limits).
 */
export function parseV2InferRequest(
  body: unknown,
  signature: ModelSignature,
  limits: BatchLimits = DEFAULT_LIMITS,
): ParsedV2Request {
  try {
    return parse(body, signature, limits);
  } catch (err) {
    if (err instanceof InputError) fail(err.message, err.status);
    throw err;
  }
}

function parse(body: unknown, signature: ModelSignature, limits: BatchLimits): ParsedV2Request {
  if (!isObject(body)) fail('the request body must be a JSON object');
  const id = body['id'];
  if (id !== undefined && typeof id !== 'string') fail("'id' must be a string");
  const parameters = checkParameters(body['parameters'], 'request');
  const outputs = checkRequestedOutputs(body['outputs'], signature);
  const rawInputs = body['inputs'];
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) fail("'inputs' must be a non-empty array");
  const inputs = rawInputs.map(checkInput);
  const specs = signature.inputs;
  const byName = new Map(specs.map((s) => [s.name, s]));
  const columns = new Map<string, ColumnData>();
  const result = (rows: number, layout: ParsedV2Request['layout']): ParsedV2Request => {
    const out: ParsedV2Request = { batch: { columns, rows }, layout };
    if (id !== undefined) out.id = id;
    if (parameters !== undefined) out.parameters = parameters;
    if (outputs !== undefined) out.outputs = outputs;
    return out;
  };

  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (
    only &&
    only.shape.length === 2 &&
    (!byName.has(only.name) || (specs.length === 1 && only.shape[1] === 1))
  ) {
    // One 2-D tensor [rows, columns], columns in signature order.
    const [rows, width] = only.shape as [number, number];
    if (width !== specs.length)
      fail(
        `input '${only.name}': a 2-D tensor must have shape [rows, ${specs.length}] ` +
          `(the model's columns ${typeList(specs)}); got ${JSON.stringify(only.shape)}`,
      );
    checkRows(rows, rows * width, limits);
    for (const spec of specs) checkDatatype(spec, only);
    const flat = flatten(only.data, only.shape, only.name);
    specs.forEach((spec, j) => {
      const col = newColumn(spec, rows);
      fillColumn(spec, col, only, flat, j, width, rows);
      columns.set(spec.name, col);
    });
    return result(rows, 'tensor');
  }

  // One input per model column.
  const seen = new Set<string>();
  for (const input of inputs) {
    if (!byName.has(input.name)) fail(`unexpected input '${input.name}'; the model takes ${typeList(specs)}`);
    if (seen.has(input.name)) fail(`input '${input.name}' is given twice`);
    seen.add(input.name);
  }
  const absent = specs.filter((s) => !seen.has(s.name));
  if (absent.length > 0) fail(`missing input${absent.length > 1 ? 's' : ''} ${typeList(absent)}`);
  let rows = -1;
  let first = '';
  for (const input of inputs) {
    const s = input.shape;
    if (!(s.length === 1 || (s.length === 2 && s[1] === 1)))
      fail(`input '${input.name}': shape ${JSON.stringify(s)} is not [rows] or [rows, 1] (one model column)`);
    const n = s[0] as number;
    if (rows === -1) {
      rows = n;
      first = input.name;
    } else if (n !== rows) fail(`input '${input.name}' has ${n} rows but input '${first}' has ${rows}`);
  }
  checkRows(rows, rows * specs.length, limits);
  for (const input of inputs) {
    const spec = byName.get(input.name) as ColumnSpec;
    checkDatatype(spec, input);
    const flat = flatten(input.data, input.shape, input.name);
    const col = newColumn(spec, rows);
    fillColumn(spec, col, input, flat, 0, 1, rows);
    columns.set(spec.name, col);
  }
  return result(rows, 'columns');
}

function checkRows(rows: number, cells: number, limits: BatchLimits): void {
  if (rows === 0) fail('the request holds no rows');
  checkLimits(rows, cells, limits);
}

function checkRequestedOutputs(v: unknown, signature: ModelSignature): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail("'outputs' must be an array");
  const known = signature.outputs.map((o) => o.name);
  const names: string[] = [];
  v.forEach((o, i) => {
    if (!isObject(o) || typeof o['name'] !== 'string') fail(`outputs[${i}] needs a 'name' (a string)`);
    const name = o['name'];
    checkParameters(o['parameters'], `output '${name}'`);
    if (!known.includes(name))
      fail(`unknown output '${name}'; the model gives ${known.map((k) => `'${k}'`).join(', ')}`);
    if (names.includes(name)) fail(`output '${name}' is asked for twice`);
    names.push(name);
  });
  return names;
}

function labelOutput(labels: readonly Label[]): V2InferOutput {
  const rows = labels.length;
  if (labels.every((l) => typeof l === 'number'))
    return {
      name: 'predict',
      shape: [rows],
      datatype: labels.every((l) => Number.isInteger(l)) ? 'INT64' : 'FP64',
      data: labels as number[],
    };
  return { name: 'predict', shape: [rows], datatype: 'BYTES', data: labels.map(String) };
}

export interface V2ResponseOptions {
  modelName: string;
  modelVersion?: string;
  /** The request's id, echoed. */
  id?: string;
  parameters?: V2Parameters;
  /** The outputs the request asked for (ParsedV2Request.outputs); undefined = all. */
  outputs?: readonly string[];
}

/**
 * Encode a prediction as a V2 infer response: classifiers give `predict` (labels: INT64 when every
 * class is an integer, BYTES otherwise) and `predict_proba` (FP64 [rows, classes]); regressors
 * `predict` (FP64 [rows]). Only the requested outputs, in the order asked.
 */
export function encodeV2InferResponse(prediction: Prediction, options: V2ResponseOptions): V2InferResponse {
  const all = new Map<string, () => V2InferOutput>();
  if (prediction.kind === 'classifier') {
    all.set('predict', () => labelOutput(prediction.labels));
    all.set('predict_proba', () => {
      const rows = prediction.probabilities.length;
      const k = prediction.classes.length;
      const data = new Array<number>(rows * k);
      prediction.probabilities.forEach((p, r) => {
        if (p.length !== k) throw new Error(`row ${r} has ${p.length} probabilities for ${k} classes`);
        for (let c = 0; c < k; c++) data[r * k + c] = p[c] as number;
      });
      return { name: 'predict_proba', shape: [rows, k], datatype: 'FP64', data };
    });
  } else {
    all.set('predict', () => ({
      name: 'predict',
      shape: [prediction.values.length],
      datatype: 'FP64',
      data: Array.from(prediction.values),
    }));
  }
  const names = options.outputs ?? [...all.keys()];
  const outputs = names.map((name) => {
    const make = all.get(name);
    if (!make)
      fail(`unknown output '${name}'; the model gives ${[...all.keys()].map((k) => `'${k}'`).join(', ')}`);
    return make();
  });
  const head: Omit<V2InferResponse, 'outputs'> = { model_name: options.modelName };
  if (options.modelVersion !== undefined) head.model_version = options.modelVersion;
  if (options.id !== undefined) head.id = options.id;
  if (options.parameters !== undefined) head.parameters = options.parameters;
  return { ...head, outputs };
}

/** The error body and status for an unknown model or version (404). */
export function v2NotFound(message: string): InferenceProtocolError {
  return new InferenceProtocolError('v2', 404, message);
}

/** `GET /v2`: server metadata. */
export function v2ServerMetadata(info: { name: string; version: string; extensions?: readonly string[] }): {
  name: string;
  version: string;
  extensions: string[];
} {
  return { name: info.name, version: info.version, extensions: [...(info.extensions ?? [])] };
}

export interface V2TensorMetadata {
  name: string;
  datatype: V2Datatype;
  shape: number[];
}

export interface V2ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: V2TensorMetadata[];
  outputs: V2TensorMetadata[];
}

/** `GET /v2/models/<name>[/versions/<v>]`: one input per model column ([-1]: any number of rows). */
export function v2ModelMetadata(info: {
  name: string;
  versions?: readonly string[];
  platform: string;
  signature: ModelSignature;
}): V2ModelMetadata {
  const out: V2ModelMetadata = {
    name: info.name,
    platform: info.platform,
    inputs: info.signature.inputs.map((s) => ({ name: s.name, datatype: datatypeOf(s.type), shape: [-1] })),
    outputs: info.signature.outputs.map((o) => ({
      name: o.name,
      datatype: datatypeOf(o.type),
      shape: [...(o.shape ?? [-1])],
    })),
  };
  if (info.versions !== undefined) out.versions = [...info.versions];
  return out;
}

/** `GET /v2/health/live`: status 200 with {"live": true}, or 503. */
export function v2Live(live: boolean): { status: number; body: { live: boolean } } {
  return { status: live ? 200 : 503, body: { live } };
}

/** `GET /v2/health/ready`: status 200 with {"ready": true}, or 503. */
export function v2Ready(ready: boolean): { status: number; body: { ready: boolean } } {
  return { status: ready ? 200 : 503, body: { ready } };
}

/** `GET /v2/models/<name>[/versions/<v>]/ready`: 200 with {name, ready}, or 503. */
export function v2ModelReady(
  name: string,
  ready: boolean,
): { status: number; body: { name: string; ready: boolean } } {
  return { status: ready ? 200 : 503, body: { name, ready } };
}
