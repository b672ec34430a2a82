// The predictions an evaluation scores, from whatever a model version holds: a Falaj-native
// model directory (model.json + arrays.bin, loaded through its family), a Falaj-exported ONNX
// graph (its metadata names the columns), or any ONNX graph from another framework, run in
// onnxruntime-node with its inputs fed by name from the data's columns.
import * as ort from 'onnxruntime-node';
import { FalajError } from '../../../core/errors.js';
import type { Task } from '../../../training/estimator.js';
import type { Column, Frame } from '../../../training/frame.js';
import { loadModel } from '../../../training/model-file.js';
import { OnnxPredictor } from '../../../training/onnx/index.js';

/** What the evaluation knows about the target once the data is read (classes in model order). */
export interface TargetSpec {
  task: Task;
  classes: readonly string[];
}

/** A model ready to predict a frame, row-major like Predictor.predict. */
export interface EvalModel {
  /** How it runs: the native predictor, Falaj's ONNX graph, or a foreign ONNX graph. */
  readonly runtime: 'falaj' | 'falaj-onnx' | 'onnx';
  /** Known for Falaj models; a foreign graph's task comes from the data (or the caller). */
  readonly task: Task | undefined;
  /** Class names in output order (Falaj models); undefined for a foreign graph. */
  readonly classes: readonly string[] | undefined;
  /** The data columns the model reads (each must be in the evaluation data). */
  readonly inputColumns: readonly string[];
  predict(frame: Frame, target: TargetSpec): Promise<Float64Array>;
  release(): Promise<void>;
}

/** A native model directory. */
export async function nativeModel(dir: string): Promise<EvalModel> {
  const { model } = await loadModel(dir);
  return {
    runtime: 'falaj',
    task: model.task,
    classes: model.classes,
    inputColumns: model.featureNames,
    predict: async (frame) => model.predict(frame),
    release: async () => {},
  };
}

function mismatch(message: string, details: Record<string, unknown>): FalajError {
  return new FalajError('FALAJ_EVALUATION_DATA_MISMATCH', message, details);
}

/** Whether ONNX bytes carry Falaj's export metadata (then OnnxPredictor knows the columns). */
async function falajOnnx(bytes: Uint8Array): Promise<OnnxPredictor | undefined> {
  try {
    return await OnnxPredictor.create(bytes);
  } catch (err) {
    if (err instanceof FalajError && /metadata/.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * ONNX bytes: Falaj's own export runs through OnnxPredictor; any other graph through
 * `ForeignOnnxModel`. `features`: for a graph with one 2-D input, the data columns in its order.
 */
export async function onnxModel(
  bytes: Uint8Array,
  opts: { features?: readonly string[] } = {},
): Promise<EvalModel> {
  const own = await falajOnnx(bytes);
  if (own) {
    return {
      runtime: 'falaj-onnx',
      task: own.task,
      classes: own.classes,
      inputColumns: own.featureNames,
      predict: (frame) => own.predict(frame),
      release: () => own.release(),
    };
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new FalajError(
      'FALAJ_MODEL_INVALID',
      `onnxruntime cannot load the model: ${(err as Error).message}`,
    );
  }
  return ForeignOnnxModel.create(session, opts.features);
}

type TensorMeta = { name: string; type: ort.Tensor.Type; shape: readonly (number | string)[] };

function tensorMetas(list: readonly ort.InferenceSession.ValueMetadata[], what: string): TensorMeta[] {
  return list.map((m) => {
    if (!m.isTensor)
      throw new FalajError(
        'FALAJ_MODEL_INVALID',
        `the ONNX ${what} '${m.name}' is not a tensor (a sequence or map: export the model without ZipMap)`,
        { [what]: m.name },
      );
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

const FLOATS = new Set<ort.Tensor.Type>(['float32', 'float64', 'float16']);

/**
 * An ONNX graph from another framework. Inputs: one tensor per data column, named as the
 * column (shape [N] or [N, 1]), or a single 2-D numeric tensor [N, k] fed from `features`.
 * Outputs: for classification, the first floating-point output with one column per class (as
 * scikit-learn's `probabilities` with zipmap off, classes in sorted order), else a label
 * output turned into one-hot rows; for regression, the first floating-point output.
 */
class ForeignOnnxModel implements EvalModel {
  readonly runtime = 'onnx' as const;
  readonly task = undefined;
  readonly classes = undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: TensorMeta[],
    private readonly outputs: TensorMeta[],
    /** Set for the one-matrix form: the columns of the matrix, in order. */
    private readonly matrix: readonly string[] | undefined,
    readonly inputColumns: readonly string[],
  ) {}

  static create(session: ort.InferenceSession, features: readonly string[] | undefined): ForeignOnnxModel {
    const inputs = tensorMetas(session.inputMetadata, 'input');
    const outputs = tensorMetas(session.outputMetadata, 'output');
    const first = inputs[0];
    const width = first?.shape[1];
    if (inputs.length === 1 && first && first.shape.length === 2 && width !== 1 && first.type !== 'string') {
      if (!features || features.length === 0)
        throw mismatch(
          `the model takes one tensor '${first.name}' of ${typeof width === 'number' ? width : 'k'} columns: name the data columns that feed it, in order (features)`,
          { input: first.name, width: width ?? null },
        );
      if (typeof width === 'number' && width !== features.length)
        throw mismatch(
          `the model's input '${first.name}' has ${width} columns, ${features.length} features were named`,
          {
            input: first.name,
            width,
            features: [...features],
          },
        );
      return new ForeignOnnxModel(session, inputs, outputs, [...features], [...features]);
    }
    return new ForeignOnnxModel(
      session,
      inputs,
      outputs,
      undefined,
      inputs.map((i) => i.name),
    );
  }

  private feeds(frame: Frame): Record<string, ort.Tensor> {
    const n = frame.nRows;
    const byName = new Map(frame.columns.map((c) => [c.name, c]));
    const col = (name: string): Column => {
      const c = byName.get(name);
      if (!c) throw mismatch(`the data has no column '${name}' which the model takes`, { missing: [name] });
      return c;
    };
    if (this.matrix) {
      const input = this.inputs[0] as TensorMeta;
      const k = this.matrix.length;
      const values = new Float64Array(n * k);
      this.matrix.forEach((name, j) => {
        const v = numeric(col(name));
        for (let i = 0; i < n; i++) values[i * k + j] = v[i] as number;
      });
      return { [input.name]: tensorOf(input.type, values, [n, k]) };
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.inputs) {
      const c = col(input.name);
      const dims = input.shape.length === 1 ? [n] : [n, 1];
      if (input.type === 'string') feeds[input.name] = new ort.Tensor('string', strings(c), dims);
      else feeds[input.name] = tensorOf(input.type, numeric(c), dims);
    }
    return feeds;
  }

  async predict(frame: Frame, target: TargetSpec): Promise<Float64Array> {
    const n = frame.nRows;
    if (n === 0) return new Float64Array(0);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(this.feeds(frame));
    } catch (err) {
      if (err instanceof FalajError) throw err;
      throw new FalajError(
        'FALAJ_MODEL_INVALID',
        `onnxruntime failed to run the model: ${(err as Error).message}`,
      );
    }
    const width = (t: ort.Tensor) => (t.dims.length >= 2 ? Number(t.dims[1]) : 1);
    const tensors = this.outputs.map((o) => out[o.name] as ort.Tensor);
    if (target.task === 'regression') {
      const t = tensors.find((x) => FLOATS.has(x.type) && width(x) === 1);
      if (!t)
        throw new FalajError(
          'FALAJ_MODEL_INVALID',
          'the model has no floating-point output of one column to score as a regression',
        );
      return Float64Array.from(t.data as ArrayLike<number>, Number);
    }
    const k = target.classes.length;
    const probs = tensors.find((x) => FLOATS.has(x.type) && width(x) === k);
    if (probs) return Float64Array.from(probs.data as ArrayLike<number>, Number);
    if (k === 2) {
      const p1 = tensors.find((x) => FLOATS.has(x.type) && width(x) === 1);
      if (p1) {
        const v = Float64Array.from(p1.data as ArrayLike<number>, Number);
        const rows = new Float64Array(n * 2);
        for (let i = 0; i < n; i++) {
          rows[i * 2] = 1 - (v[i] as number);
          rows[i * 2 + 1] = v[i] as number;
        }
        return rows;
      }
    }
    const labels = tensors.find((x) => !FLOATS.has(x.type));
    if (!labels)
      throw new FalajError(
        'FALAJ_MODEL_INVALID',
        `the model has no output of ${k} class probabilities and no label output`,
        { classes: [...target.classes] },
      );
    const index = new Map(target.classes.map((c, i) => [c, i]));
    const rows = new Float64Array(n * k);
    const data = labels.data as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) {
      const raw = data[i];
      // An integer label from scikit-learn indexes the sorted classes; a string label names one.
      const j = typeof raw === 'string' ? index.get(raw) : (index.get(String(raw)) ?? Number(raw));
      if (j === undefined || !Number.isInteger(j) || j < 0 || j >= k)
        throw mismatch(`the model predicted '${String(raw)}', which is none of the target's classes`, {
          classes: [...target.classes],
          predicted: String(raw),
        });
      rows[i * k + j] = 1;
    }
    return rows;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function numeric(col: Column): Float64Array {
  if (col.kind === 'numeric') return col.values;
  const numbers = col.levels.map((l) => (l.trim() === '' ? Number.NaN : Number(l)));
  if (numbers.some((x) => Number.isNaN(x)))
    throw mismatch(`column '${col.name}' holds text but the model takes it as a number`, {
      column: col.name,
      expected: 'numeric',
    });
  return Float64Array.from(col.codes, (c) => (c >= 0 ? (numbers[c] as number) : Number.NaN));
}

function strings(col: Column): string[] {
  if (col.kind === 'categorical')
    return Array.from(col.codes, (c) => (c >= 0 ? (col.levels[c] as string) : ''));
  return Array.from(col.values, (x) => (Number.isNaN(x) ? '' : String(x)));
}

function tensorOf(type: ort.Tensor.Type, values: Float64Array, dims: number[]): ort.Tensor {
  switch (type) {
    case 'float64':
      return new ort.Tensor('float64', values, dims);
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(values), dims);
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (v) => BigInt(Math.round(Number.isNaN(v) ? 0 : v))),
        dims,
      );
    case 'int32':
      return new ort.Tensor(
        'int32',
        Int32Array.from(values, (v) => Math.round(Number.isNaN(v) ? 0 : v)),
        dims,
      );
    case 'bool':
      return new ort.Tensor(
        'bool',
        Uint8Array.from(values, (v) => (v ? 1 : 0)),
        dims,
      );
    default:
      throw new FalajError(
        'FALAJ_MODEL_INVALID',
        `the model takes a tensor of type ${type}, which Falaj cannot feed`,
        {
          type,
        },
      );
  }
}
