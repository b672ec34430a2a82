// The ONNX runtime (onnxruntime-node). Falaj's own exports (their metadata names the columns)
// run through OnnxPredictor; any other graph is fed from the batch by its input metadata:
//   - one tensor per column, named as the column, shape [N] or [N, 1]; or
//   - one 2-D numeric tensor [N, k]: k columns named from `features` when given, else
//     `<input>_0 … <input>_{k-1}`. A V2 request may then send one input per column under those
//     names, or the single 2-D tensor under the graph's input name (parseV2InferRequest takes a
//     lone 2-D input whose name is not a column as [rows, columns] in signature order).
// Outputs: a classifier has a floating-point output [N, k ≥ 2] (probabilities) or a
// non-floating label output; anything else is a regressor (its first floating-point output).
// Sequence or map outputs (ZipMap) are refused.
import * as ort from 'onnxruntime-node';
import { FalajError } from '../../core/errors.js';
import type { Column, Frame } from '../../training/frame.js';
import { OnnxPredictor } from '../../training/onnx/index.js';
import { decodeModel } from '../../training/onnx/proto.js';
import {
  type ColumnBatch,
  type ColumnData,
  type ColumnSpec,
  type ColumnType,
  defaultOutputs,
  type Label,
  type ModelSignature,
  type Prediction,
} from '../protocols/index.js';
import { categorical } from './string-column.js';
import {
  badBatch,
  classify,
  inferenceFailed,
  presentClasses,
  SAMPLE_VALUES,
  type ServingModel,
} from './types.js';

export const ONNX_PLATFORM = 'onnxruntime_onnx';

function invalid(message: string, details?: Record<string, unknown>): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', message, details);
}

type Proto = ReturnType<typeof decodeModel>;

function decode(bytes: Uint8Array): Proto {
  try {
    return decodeModel(bytes);
  } catch (err) {
    throw invalid(`not an ONNX model: ${(err as Error).message}`);
  }
}

/** Loads ONNX bytes (already checked against their digest). */
export async function loadOnnxModel(
  bytes: Uint8Array,
  opts: { features?: readonly string[] } = {},
): Promise<ServingModel> {
  const proto = decode(bytes);
  const props = new Map(proto.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  if (props.has('falaj.inputs') && props.has('falaj.task')) return FalajOnnxModel.create(bytes, props);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw invalid(`onnxruntime cannot load the model: ${(err as Error).message}`);
  }
  try {
    return await ForeignOnnxModel.create(session, proto, props, opts.features);
  } catch (err) {
    await session.release();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Falaj's own ONNX export

interface Binding {
  column: string;
  kind: 'numeric' | 'categorical';
}

class FalajOnnxModel implements ServingModel {
  readonly runtime = 'onnx' as const;
  readonly platform = ONNX_PLATFORM;
  readonly task: 'classifier' | 'regressor';
  readonly signature: ModelSignature;
  private readonly labels: readonly Label[];

  private constructor(
    private readonly predictor: OnnxPredictor,
    private readonly bindings: readonly Binding[],
  ) {
    this.task = predictor.task === 'regression' ? 'regressor' : 'classifier';
    this.labels = presentClasses(predictor.classes);
    this.signature = {
      inputs: bindings.map((b) => ({
        name: b.column,
        type: b.kind === 'categorical' ? 'string' : 'double',
        missing: true,
      })),
      outputs: defaultOutputs(this.task, this.labels),
    };
  }

  static async create(bytes: Uint8Array, props: Map<string, string>): Promise<ServingModel> {
    let bindings: Binding[];
    try {
      bindings = JSON.parse(props.get('falaj.inputs') as string) as Binding[];
      if (!Array.isArray(bindings)) throw new Error('not an array');
    } catch (err) {
      throw invalid(`malformed Falaj metadata 'falaj.inputs': ${(err as Error).message}`);
    }
    const model = new FalajOnnxModel(await OnnxPredictor.create(bytes), bindings);
    // Falaj's metadata lists no levels: the health check feeds '' (an unknown string is missing).
    SAMPLE_VALUES.set(model, new Map());
    return model;
  }

  async predict(batch: ColumnBatch): Promise<Prediction> {
    const columns: Column[] = this.bindings.map((b) => {
      const data = batch.columns.get(b.column);
      if (data === undefined) throw badBatch(`the batch has no column '${b.column}'`, b.column);
      if (data instanceof Float64Array) return { kind: 'numeric', name: b.column, values: data };
      return categorical(b.column, data, batch.rows);
    });
    const frame: Frame = { nRows: batch.rows, columns };
    let out: { values: Float64Array; labels?: string[] };
    try {
      out = await this.predictor.run(frame);
    } catch (err) {
      throw inferenceFailed(err, 'onnx');
    }
    if (this.task === 'regressor') return { kind: 'regressor', values: out.values };
    const { labels, probabilities } = classify(out.values, batch.rows, this.labels);
    const numeric = this.labels.length > 0 && typeof this.labels[0] === 'number';
    const graphLabels = out.labels?.map((l): Label => (numeric ? Number(l) : l)) ?? labels;
    return { kind: 'classifier', labels: graphLabels, probabilities, classes: this.labels };
  }

  async release(): Promise<void> {
    await this.predictor.release();
  }
}

// ---------------------------------------------------------------------------------------------
// A graph from another framework

interface TensorMeta {
  readonly name: string;
  readonly type: ort.Tensor.Type;
  readonly shape: readonly (number | string)[];
}

function tensorMetas(list: readonly ort.InferenceSession.ValueMetadata[], what: string): TensorMeta[] {
  return list.map((m) => {
    if (!m.isTensor)
      throw invalid(
        `the ONNX ${what} '${m.name}' is not a tensor (a sequence or a map, as ZipMap gives): ` +
          'export the model without ZipMap (skl2onnx: options={"zipmap": False})',
        { [what]: m.name },
      );
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

const COLUMN_TYPES: Partial<Record<ort.Tensor.Type, ColumnType>> = {
  float32: 'float',
  float64: 'double',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
  string: 'string',
};
const FLOATS = new Set<ort.Tensor.Type>(['float32', 'float64', 'float16']);

function columnType(input: TensorMeta): ColumnType {
  const t = COLUMN_TYPES[input.type];
  if (!t)
    throw invalid(`the ONNX input '${input.name}' is of type ${input.type}, which Falaj cannot feed`, {
      input: input.name,
      type: input.type,
    });
  return t;
}

/** The width of a 2-D tensor, or 1 for [N]; undefined when symbolic. */
function widthOf(t: TensorMeta): number | undefined {
  if (t.shape.length === 1) return 1;
  const w = t.shape[1];
  return typeof w === 'number' && w >= 0 ? w : undefined;
}

const CLASSIFIER_OPS = new Set(['TreeEnsembleClassifier', 'LinearClassifier', 'SVMClassifier']);

/** Class labels from the graph: a traditional-ML classifier's classlabels, or metadata 'classes'. */
function graphClasses(proto: Proto, props: Map<string, string>): Label[] | undefined {
  const found: Label[][] = [];
  for (const node of proto.graph?.node ?? []) {
    if (!CLASSIFIER_OPS.has(node.opType ?? '')) continue;
    for (const a of node.attribute ?? []) {
      if (a.name === 'classlabels_int64s' && (a.ints?.length ?? 0) > 0)
        found.push((a.ints ?? []).map((x) => Number(x)));
      if (a.name === 'classlabels_strings' && (a.strings?.length ?? 0) > 0)
        found.push((a.strings ?? []).map((s) => new TextDecoder().decode(s)));
    }
  }
  if (found.length === 1) return found[0];
  const meta = props.get('classes');
  if (meta !== undefined) {
    try {
      const v = JSON.parse(meta) as unknown;
      if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || typeof x === 'number'))
        return v as Label[];
    } catch {
      // not JSON: ignored
    }
  }
  return undefined;
}

class ForeignOnnxModel implements ServingModel {
  readonly runtime = 'onnx' as const;
  readonly platform = ONNX_PLATFORM;
  readonly signature: ModelSignature;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: readonly TensorMeta[],
    /** The columns in signature order; for the matrix form, the matrix's columns. */
    private readonly specs: readonly ColumnSpec[],
    private readonly matrix: boolean,
    readonly task: 'classifier' | 'regressor',
    private readonly probs: TensorMeta | undefined,
    private readonly label: TensorMeta | undefined,
    private readonly value: TensorMeta | undefined,
    private readonly classes: readonly Label[],
  ) {
    this.signature = { inputs: specs, outputs: defaultOutputs(task, classes) };
  }

  static async create(
    session: ort.InferenceSession,
    proto: Proto,
    props: Map<string, string>,
    features: readonly string[] | undefined,
  ): Promise<ForeignOnnxModel> {
    const inputs = tensorMetas(session.inputMetadata, 'input');
    const outputs = tensorMetas(session.outputMetadata, 'output');
    if (inputs.length === 0) throw invalid('the ONNX model has no inputs');
    const first = inputs[0] as TensorMeta;
    let specs: ColumnSpec[];
    let matrix = false;
    if (inputs.length === 1 && first.shape.length === 2 && widthOf(first) !== 1 && first.type !== 'string') {
      const type = columnType(first);
      const width = widthOf(first) ?? features?.length;
      if (width === undefined)
        throw invalid(
          `the ONNX input '${first.name}' is a matrix of unknown width: name its columns (features)`,
          { input: first.name },
        );
      if (features && features.length !== width)
        throw invalid(
          `the ONNX input '${first.name}' has ${width} columns but ${features.length} features were named`,
          {
            input: first.name,
            width,
            features: [...features],
          },
        );
      const names = features ? [...features] : Array.from({ length: width }, (_, j) => `${first.name}_${j}`);
      if (new Set(names).size !== names.length) throw invalid('the feature names are not unique');
      specs = names.map((name) => ({ name, type, missing: FLOATS.has(first.type) }));
      matrix = true;
    } else {
      specs = inputs.map((input) => {
        if (!(input.shape.length === 1 || (input.shape.length === 2 && widthOf(input) === 1)))
          throw invalid(
            `the ONNX input '${input.name}' has shape ${JSON.stringify(input.shape)}: inputs must be one column each ([N] or [N, 1]), or a single matrix [N, k]`,
            { input: input.name },
          );
        return { name: input.name, type: columnType(input), missing: FLOATS.has(input.type) };
      });
    }

    const probs = outputs.find((o) => FLOATS.has(o.type) && o.shape.length === 2 && (widthOf(o) ?? 2) >= 2);
    const label = outputs.find(
      (o) => !FLOATS.has(o.type) && (o.shape.length === 1 || (o.shape.length === 2 && widthOf(o) === 1)),
    );
    if (probs || label) {
      let classes = graphClasses(proto, props);
      let k = probs ? widthOf(probs) : undefined;
      if (probs && k === undefined) {
        // A symbolic width: one probe row tells it.
        if (classes) k = classes.length;
        else {
          const probe = new ForeignOnnxModel(
            session,
            inputs,
            specs,
            matrix,
            'regressor',
            undefined,
            undefined,
            probs,
            [],
          );
          const out = await probe.run(sampleBatch(specs, new Map()));
          const t = out[probs.name] as ort.Tensor;
          k = Number(t.dims[1]);
        }
      }
      if (classes && k !== undefined && classes.length !== k)
        throw invalid(
          `the ONNX model's probabilities output '${probs?.name}' has ${k} columns but the graph names ${classes.length} classes`,
        );
      if (!classes) {
        if (k === undefined)
          throw invalid(
            `the ONNX model has a label output '${label?.name}' but no probabilities and no class list`,
          );
        classes =
          label?.type === 'string'
            ? Array.from({ length: k }, (_, i) => String(i))
            : Array.from({ length: k }, (_, i) => i);
      }
      return new ForeignOnnxModel(
        session,
        inputs,
        specs,
        matrix,
        'classifier',
        probs,
        label,
        undefined,
        classes,
      );
    }
    const value = outputs.find((o) => FLOATS.has(o.type) && (o.shape.length === 1 || widthOf(o) === 1));
    if (!value)
      throw invalid(
        'the ONNX model has no output to serve: no probabilities, no label and no one-column floating-point output',
      );
    return new ForeignOnnxModel(session, inputs, specs, matrix, 'regressor', undefined, undefined, value, []);
  }

  private column(spec: ColumnSpec, batch: ColumnBatch): ColumnData {
    const data = batch.columns.get(spec.name);
    if (data === undefined) throw badBatch(`the batch has no column '${spec.name}'`, spec.name);
    if (data.length !== batch.rows)
      throw badBatch(`column '${spec.name}' has ${data.length} values for ${batch.rows} rows`, spec.name);
    if ((spec.type === 'string') === data instanceof Float64Array)
      throw badBatch(`column '${spec.name}' holds the wrong kind of values for ${spec.type}`, spec.name);
    return data;
  }

  private feeds(batch: ColumnBatch): Record<string, ort.Tensor> {
    const n = batch.rows;
    const feeds: Record<string, ort.Tensor> = {};
    if (this.matrix) {
      const input = this.inputs[0] as TensorMeta;
      const k = this.specs.length;
      const values = numericArray(input.type, n * k);
      for (let j = 0; j < k; j++) {
        const col = this.column(this.specs[j] as ColumnSpec, batch) as Float64Array;
        put(values, col, j, k, n);
      }
      feeds[input.name] = new ort.Tensor(input.type, values as never, [n, k]);
      return feeds;
    }
    for (let j = 0; j < this.inputs.length; j++) {
      const input = this.inputs[j] as TensorMeta;
      const col = this.column(this.specs[j] as ColumnSpec, batch);
      const dims = input.shape.length === 1 ? [n] : [n, 1];
      if (input.type === 'string') {
        feeds[input.name] = new ort.Tensor(
          'string',
          Array.from(col as (string | null)[], (v) => v ?? ''),
          dims,
        );
      } else {
        const values = numericArray(input.type, n);
        put(values, col as Float64Array, 0, 1, n);
        feeds[input.name] = new ort.Tensor(input.type, values as never, dims);
      }
    }
    return feeds;
  }

  async run(batch: ColumnBatch): Promise<ort.InferenceSession.ReturnType> {
    const feeds = this.feeds(batch);
    try {
      return await this.session.run(feeds);
    } catch (err) {
      throw inferenceFailed(err, 'onnx');
    }
  }

  async predict(batch: ColumnBatch): Promise<Prediction> {
    const out = await this.run(batch);
    const n = batch.rows;
    if (this.task === 'regressor') {
      const t = out[(this.value as TensorMeta).name] as ort.Tensor;
      const data = t.data as Float32Array | Float64Array;
      return { kind: 'regressor', values: data instanceof Float64Array ? data : Float64Array.from(data) };
    }
    const k = this.classes.length;
    let labels: Label[];
    let probabilities: number[][];
    if (this.probs) {
      const p = (out[this.probs.name] as ort.Tensor).data as Float32Array | Float64Array;
      if (p.length !== n * k)
        throw inferenceFailed(
          new Error(`probabilities of ${p.length} values for ${n} rows × ${k} classes`),
          'onnx',
        );
      ({ labels, probabilities } = classify(p, n, this.classes));
    } else {
      probabilities = [];
      labels = [];
    }
    if (this.label) {
      const data = (out[this.label.name] as ort.Tensor).data as ArrayLike<bigint | number | string>;
      labels = new Array<Label>(n);
      for (let i = 0; i < n; i++) {
        const v = data[i];
        labels[i] = typeof v === 'string' ? v : Number(v);
      }
      if (!this.probs) {
        // Only labels: one-hot rows over the known classes.
        const index = new Map(this.classes.map((c, i) => [String(c), i]));
        probabilities = labels.map((l) => {
          const row = new Array<number>(k).fill(0);
          const j = index.get(String(l));
          if (j !== undefined) row[j] = 1;
          return row;
        });
      }
    }
    return { kind: 'classifier', labels, probabilities, classes: this.classes };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

function numericArray(type: ort.Tensor.Type, length: number): NumericArray {
  switch (type) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'bool':
      return new Uint8Array(length);
    default:
      throw invalid(`Falaj cannot feed an ONNX tensor of type ${type}`, { type });
  }
}

/** Column `col` into `values` at offset j, stride k. */
function put(values: NumericArray, col: Float64Array, j: number, k: number, n: number): void {
  if (values instanceof BigInt64Array) {
    for (let i = 0, o = j; i < n; i++, o += k) values[o] = BigInt(col[i] as number);
  } else if (values instanceof Uint8Array) {
    for (let i = 0, o = j; i < n; i++, o += k) values[o] = col[i] ? 1 : 0;
  } else {
    for (let i = 0, o = j; i < n; i++, o += k) values[o] = col[i] as number;
  }
}

/** One synthetic row: zeros, the given level (or '') for strings. */
export function sampleBatch(specs: readonly ColumnSpec[], levels: ReadonlyMap<string, string>): ColumnBatch {
  const columns = new Map<string, ColumnData>();
  for (const s of specs)
    columns.set(s.name, s.type === 'string' ? [levels.get(s.name) ?? ''] : new Float64Array(1));
  return { columns, rows: 1 };
}
