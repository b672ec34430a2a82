// MLflow's scoring server (`POST /invocations`) as a pure codec: the content-type check, the
// four JSON input formats (dataframe_split, dataframe_records, instances, inputs) and text/csv,
// parsed into a ColumnBatch for a model signature; predictions encoded as {"predictions": ...}.
// Errors are InferenceProtocolError with MLflow's body {"error_code": "BAD_REQUEST", "message"}
// (400, 413 over the limits) or, for an unsupported content type, 415 with a text/plain body.
// Source: mlflow/pyfunc/scoring_server/__init__.py; docs/serving-protocols.md.

import { checkLimits, newColumn, putJson, putText, typeList } from './cells.js';
import { InferenceProtocolError, InputError } from './errors.js';
import {
  type BatchLimits,
  type ColumnBatch,
  type ColumnData,
  type ColumnSpec,
  DEFAULT_LIMITS,
  type Label,
  type ModelSignature,
  type Prediction,
} from './model-io.js';

export const MLFLOW_FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
export type MlflowFormat = (typeof MLFLOW_FORMATS)[number] | 'csv';

export interface ParsedMlflowRequest {
  batch: ColumnBatch;
  format: MlflowFormat;
  /** The JSON body's `params`, if any (CSV has none). */
  params?: Record<string, unknown>;
  /** Columns the request sent that the model does not take: dropped, as MLflow drops them. */
  ignoredColumns: string[];
}

function fail(message: string, status = 400): never {
  throw new InferenceProtocolError('mlflow', status, message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The media type of a Content-Type header: 'json' or 'csv'; otherwise 415 (text/plain, as MLflow). */
export function mlflowContentKind(contentType: string | undefined): 'json' | 'csv' {
  const [type = '', ...params] = (contentType ?? '').split(';').map((p) => p.trim());
  const kind =
    type.toLowerCase() === 'application/json' ? 'json' : type.toLowerCase() === 'text/csv' ? 'csv' : null;
  if (!kind)
    throw new InferenceProtocolError(
      'mlflow',
      415,
      `This predictor only supports the following content types: ['text/csv', 'application/json']. ` +
        `Got '${contentType ?? ''}'.`,
      { plainText: true },
    );
  for (const p of params) {
    const [k = '', v = ''] = p.split('=').map((x) => x.trim());
    if (k.toLowerCase() === 'charset' && !/^"?utf-8"?$/i.test(v))
      throw new InferenceProtocolError('mlflow', 415, `Unsupported charset '${v}': only UTF-8 is accepted.`, {
        plainText: true,
      });
  }
  return kind;
}

/**
 * Parse a `POST /invocations` body for a model with this signature. `body` is the raw text (or a
 * Buffer of UTF-8), or for JSON an already-parsed value.
 */
export function parseMlflowInvocation(
  contentType: string | undefined,
  body: unknown,
  signature: ModelSignature,
  limits: BatchLimits = DEFAULT_LIMITS,
): ParsedMlflowRequest {
  const kind = mlflowContentKind(contentType);
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  try {
    if (kind === 'csv') {
      if (typeof text !== 'string') fail('a text/csv body must be text');
      return { ...parseCsv(text, signature, limits), format: 'csv' };
    }
    let json = text;
    if (typeof text === 'string') {
      try {
        json = JSON.parse(text);
      } catch (err) {
        fail(`Failed to parse input as JSON: ${(err as Error).message}`);
      }
    }
    return parseJson(json, signature, limits);
  } catch (err) {
    if (err instanceof InputError) fail(err.message, err.status);
    throw err;
  }
}

function parseJson(json: unknown, signature: ModelSignature, limits: BatchLimits): ParsedMlflowRequest {
  if (!isObject(json))
    fail(
      `The input must be a JSON object with exactly one of the fields ${MLFLOW_FORMATS.map((f) => `'${f}'`).join(', ')}`,
    );
  const params = json['params'];
  if (params !== undefined && !isObject(params)) fail("'params' must be a JSON object");
  const keys = Object.keys(json).filter((k) => k !== 'params');
  const format = keys[0] as (typeof MLFLOW_FORMATS)[number];
  if (keys.length !== 1 || !MLFLOW_FORMATS.includes(format))
    fail(
      `The input must be a JSON object with exactly one of the fields ` +
        `${MLFLOW_FORMATS.map((f) => `'${f}'`).join(', ')}; got ${keys.length ? keys.map((k) => `'${k}'`).join(', ') : 'none'}`,
    );
  const v = json[format];
  let parsed: Omit<ParsedMlflowRequest, 'format'>;
  switch (format) {
    case 'dataframe_split':
      parsed = fromSplit(v, signature, limits);
      break;
    case 'dataframe_records':
      if (!Array.isArray(v)) fail("'dataframe_records' must be a list of objects");
      parsed = fromRecords(v, signature, limits, 'record');
      break;
    case 'instances':
    case 'inputs':
      parsed = isObject(v)
        ? fromColumnsObject(v, signature, limits, format)
        : fromRowList(v, signature, limits, format);
      break;
  }
  const out: ParsedMlflowRequest = { ...parsed, format };
  if (params !== undefined) out.params = params as Record<string, unknown>;
  return out;
}

/** Map the request's column names onto the model's: each model column's index, or -1 if absent. */
function resolve(
  names: readonly string[],
  signature: ModelSignature,
): { index: number[]; ignored: string[] } {
  const specs = signature.inputs;
  const pos = new Map<string, number>();
  names.forEach((n, i) => {
    if (pos.has(n)) fail(`column '${n}' is given twice`);
    pos.set(n, i);
  });
  const index = specs.map((s) => pos.get(s.name) ?? -1);
  const absent = specs.filter((s, j) => index[j] === -1 && !s.missing);
  if (absent.length > 0)
    fail(
      `Model is missing inputs ${typeList(absent)}; the request has ${names.length ? typeList(names.map((name) => ({ name }))) : 'no columns'}`,
    );
  const known = new Set(specs.map((s) => s.name));
  return { index, ignored: names.filter((n) => !known.has(n)) };
}

function start(rows: number, signature: ModelSignature, limits: BatchLimits): Map<string, ColumnData> {
  if (rows === 0) fail('the request holds no rows');
  checkLimits(rows, rows * signature.inputs.length, limits);
  return new Map(signature.inputs.map((s) => [s.name, newColumn(s, rows)]));
}

/** Fill a column that the request lacks (allowed only for columns that take missing values). */
function fillMissing(col: ColumnData): void {
  if (col instanceof Float64Array) col.fill(Number.NaN);
  else col.fill(null);
}

/** Rows as arrays; `names` null = positional, in the signature's order. */
function fromRows(
  names: readonly string[] | null,
  data: readonly unknown[],
  signature: ModelSignature,
  limits: BatchLimits,
  what: string,
): Omit<ParsedMlflowRequest, 'format'> {
  const specs = signature.inputs;
  const width = names ? names.length : specs.length;
  const { index, ignored } = names
    ? resolve(names, signature)
    : { index: specs.map((_, j) => j), ignored: [] };
  const rows = data.length;
  const columns = start(rows, signature, limits);
  const cols = specs.map((s) => columns.get(s.name) as ColumnData);
  for (let r = 0; r < rows; r++) {
    const row = data[r];
    if (!Array.isArray(row))
      fail(
        `${what} ${r} must be a list of ${width} values${names ? '' : ` (the model's columns ${typeList(specs)})`}`,
      );
    if (row.length !== width)
      fail(
        `${what} ${r} has ${row.length} values; expected ${width}${names ? ' (one per column)' : ` (the model's columns ${typeList(specs)})`}`,
      );
    for (let j = 0; j < specs.length; j++) {
      const i = index[j] as number;
      if (i < 0) continue;
      const spec = specs[j] as ColumnSpec;
      putJson(spec, cols[j] as ColumnData, r, row[i], () => `${what} ${r}, column '${spec.name}'`);
    }
  }
  for (let j = 0; j < specs.length; j++) if (index[j] === -1) fillMissing(cols[j] as ColumnData);
  return { batch: { columns, rows }, ignoredColumns: ignored };
}

function fromSplit(
  v: unknown,
  signature: ModelSignature,
  limits: BatchLimits,
): Omit<ParsedMlflowRequest, 'format'> {
  if (!isObject(v)) fail("'dataframe_split' must be an object with 'columns' and 'data'");
  for (const k of Object.keys(v))
    if (k !== 'columns' && k !== 'data' && k !== 'index')
      fail(`'dataframe_split' has an unknown field '${k}' (it takes 'columns', 'data', 'index')`);
  const { columns, data, index } = v;
  if (!Array.isArray(data)) fail("'dataframe_split.data' must be a list of rows");
  if (columns !== undefined && (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')))
    fail("'dataframe_split.columns' must be a list of column names");
  if (index !== undefined && (!Array.isArray(index) || index.length !== data.length))
    fail(`'dataframe_split.index' must be a list as long as 'data' (${data.length})`);
  return fromRows((columns as string[] | undefined) ?? null, data, signature, limits, 'row');
}

function fromRecords(
  records: readonly unknown[],
  signature: ModelSignature,
  limits: BatchLimits,
  what: string,
): Omit<ParsedMlflowRequest, 'format'> {
  const specs = signature.inputs;
  const rows = records.length;
  if (rows === 0) fail('the request holds no rows');
  checkLimits(rows, rows * specs.length, limits);
  // The columns are the union of the records' keys (pandas' DataFrame of records).
  const names = new Set<string>();
  for (let r = 0; r < rows; r++) {
    const rec = records[r];
    if (!isObject(rec)) fail(`${what} ${r} must be an object of column values`);
    for (const k in rec) names.add(k);
  }
  const { index, ignored } = resolve([...names], signature);
  const columns = start(rows, signature, limits);
  specs.forEach((spec, j) => {
    const col = columns.get(spec.name) as ColumnData;
    if (index[j] === -1) {
      fillMissing(col);
      return;
    }
    for (let r = 0; r < rows; r++) {
      const rec = records[r] as Record<string, unknown>;
      putJson(spec, col, r, rec[spec.name], () => `${what} ${r}, column '${spec.name}'`);
    }
  });
  return { batch: { columns, rows }, ignoredColumns: ignored };
}

/** `instances`/`inputs` as a list: of objects (records), of lists (positional rows), or of scalars (one column). */
function fromRowList(
  v: unknown,
  signature: ModelSignature,
  limits: BatchLimits,
  format: string,
): Omit<ParsedMlflowRequest, 'format'> {
  if (!Array.isArray(v)) fail(`'${format}' must be a list of rows or an object of columns`);
  if (v.length === 0) fail('the request holds no rows');
  if (isObject(v[0])) return fromRecords(v, signature, limits, 'instance');
  if (Array.isArray(v[0])) return fromRows(null, v, signature, limits, 'instance');
  if (signature.inputs.length !== 1)
    fail(
      `'${format}' holds single values but the model takes ${signature.inputs.length} columns ` +
        `(${typeList(signature.inputs)}); send a list of rows or an object of columns`,
    );
  return fromRows(
    null,
    v.map((x) => [x]),
    signature,
    limits,
    'instance',
  );
}

/** `instances`/`inputs` as an object: columns of values (all as long), or a single row of scalars. */
function fromColumnsObject(
  v: Record<string, unknown>,
  signature: ModelSignature,
  limits: BatchLimits,
  format: string,
): Omit<ParsedMlflowRequest, 'format'> {
  const names = Object.keys(v);
  const values = Object.values(v);
  if (values.length > 0 && values.every((x) => !Array.isArray(x)))
    return fromRecords([v], signature, limits, 'row');
  let rows = -1;
  names.forEach((n) => {
    const col = v[n];
    if (!Array.isArray(col)) fail(`'${format}.${n}' must be a list of values, as the other columns are`);
    if (rows === -1) rows = col.length;
    else if (col.length !== rows)
      fail(
        `'${format}' columns differ in length: '${n}' has ${col.length} values, '${names[0]}' has ${rows}`,
      );
  });
  const { index, ignored } = resolve(names, signature);
  const columns = start(Math.max(rows, 0), signature, limits);
  signature.inputs.forEach((spec, j) => {
    const col = columns.get(spec.name) as ColumnData;
    if (index[j] === -1) {
      fillMissing(col);
      return;
    }
    const src = v[spec.name] as unknown[];
    for (let r = 0; r < rows; r++) putJson(spec, col, r, src[r], () => `row ${r}, column '${spec.name}'`);
  });
  return { batch: { columns, rows }, ignoredColumns: ignored };
}

/** RFC 4180 CSV with a header row; rows and cells checked against the limits while reading. */
function parseCsv(
  text: string,
  signature: ModelSignature,
  limits: BatchLimits,
): Omit<ParsedMlflowRequest, 'format'> {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: { line: number; fields: string[] }[] = [];
  let header: string[] | null = null;
  let line = 1;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    // An empty line is skipped, as pandas skips blank lines.
    if (s[i] === '\n' || s[i] === '\r') {
      i += s[i] === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
      continue;
    }
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n) fail(`CSV line ${quoteLine}: a quoted field is never closed`);
          const q = s.indexOf('"', i);
          if (q < 0) fail(`CSV line ${quoteLine}: a quoted field is never closed`);
          const chunk = s.slice(i, q);
          for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
          field += chunk;
          if (s[q + 1] === '"') {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        if (i < n && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r')
          fail(`CSV line ${line}: text after the closing quote of a field`);
      } else {
        let j = i;
        while (j < n) {
          const c = s.charCodeAt(j);
          if (c === 44 /* , */ || c === 10 || c === 13) break;
          j++;
        }
        field = s.slice(i, j);
        i = j;
      }
      fields.push(field);
      if (i < n && s[i] === ',') {
        i++;
        continue;
      }
      if (i < n) {
        i += s[i] === '\r' && s[i + 1] === '\n' ? 2 : 1;
        line++;
      }
      break;
    }
    if (!header) {
      header = fields.map((f) => f.trim());
      continue;
    }
    if (fields.length !== header.length)
      fail(`CSV line ${startLine} has ${fields.length} fields; the header (line 1) has ${header.length}`);
    records.push({ line: startLine, fields });
    if (records.length > limits.maxRows || records.length * signature.inputs.length > limits.maxCells)
      checkLimits(records.length, records.length * signature.inputs.length, limits);
  }
  if (!header) fail('the CSV body is empty (it needs a header row)');
  const { index, ignored } = resolve(header, signature);
  const rows = records.length;
  const columns = start(rows, signature, limits);
  signature.inputs.forEach((spec, j) => {
    const col = columns.get(spec.name) as ColumnData;
    const i = index[j] as number;
    if (i === -1) {
      fillMissing(col);
      return;
    }
    for (let r = 0; r < rows; r++) {
      const rec = records[r] as { line: number; fields: string[] };
      putText(spec, col, r, rec.fields[i] as string, () => `CSV line ${rec.line}, column '${spec.name}'`);
    }
  });
  return { batch: { columns, rows }, ignoredColumns: ignored };
}

export interface MlflowPredictions {
  predictions: Label[] | number[][] | number[];
}

/**
 * `{"predictions": [...]}` as MLflow's sklearn flavour gives it: a classifier's labels (its
 * `predict`), or with method 'predict_proba' one list of class probabilities per row; a
 * regressor's values.
 */
export function encodeMlflowPredictions(
  prediction: Prediction,
  method: 'predict' | 'predict_proba' = 'predict',
): MlflowPredictions {
  if (prediction.kind === 'regressor') {
    if (method !== 'predict')
      fail(`predict_method '${method}' is for classifiers; this model is a regressor`);
    return { predictions: Array.from(prediction.values) };
  }
  if (method === 'predict_proba') return { predictions: prediction.probabilities.map((p) => [...p]) };
  return { predictions: [...prediction.labels] };
}

/** The prediction method a request's `params.predict_method` asks for (MLflow's documented convention). */
export function mlflowPredictMethod(
  params: Record<string, unknown> | undefined,
): 'predict' | 'predict_proba' {
  const m = params?.['predict_method'];
  if (m === undefined || m === 'predict') return 'predict';
  if (m === 'predict_proba') return 'predict_proba';
  fail(`params.predict_method must be 'predict' or 'predict_proba'; got ${JSON.stringify(m)}`);
}

/** MLflow's error for a failure outside parsing (e.g. the model failing): 400 BAD_REQUEST shape. */
export function mlflowError(message: string, status = 400): InferenceProtocolError {
  return new InferenceProtocolError('mlflow', status, message);
}

/** `GET /ping` and `GET /health`: 200 with a newline body (text/plain), as MLflow answers. */
export const MLFLOW_PING_BODY = '\n';
