// Running an exported model in onnxruntime-node on a Frame: the tensors are built from the
// frame's columns by the name mapping in the model's metadata, and the result has the layout of
// the native predict (row-major nRows × classes probabilities, or nRows × 1 predictions).
import * as ort from 'onnxruntime-node';
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import type { Column, Frame } from '../frame.js';
import { META } from './export.js';
import type { InputBinding } from './names.js';
import { OUTPUT_LABEL, OUTPUT_PREDICTION, OUTPUT_PROBABILITIES } from './names.js';
import { decodeModel } from './proto.js';

function invalid(message: string, details?: unknown): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', message, details);
}

interface FalajOnnxMeta {
  readonly task: Task;
  readonly classes: readonly string[];
  readonly format: string;
  readonly inputs: readonly InputBinding[];
}

/** Reads Falaj's metadata from ONNX bytes; a model from elsewhere has none and is refused. */
function readMeta(bytes: Uint8Array): FalajOnnxMeta {
  let props: Map<string, string>;
  try {
    props = new Map(decodeModel(bytes).metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  } catch (err) {
    throw invalid(`not an ONNX model: ${(err as Error).message}`);
  }
  const get = (key: string): string => {
    const v = props.get(key);
    if (v === undefined) throw invalid(`the ONNX model has no '${key}' metadata (not exported by Falaj)`);
    return v;
  };
  try {
    const task = get(META.task) as Task;
    if (task !== 'binary' && task !== 'multiclass' && task !== 'regression')
      throw invalid(`unknown task ${task}`);
    const classes = JSON.parse(get(META.classes)) as string[];
    const inputs = JSON.parse(get(META.inputs)) as InputBinding[];
    if (!Array.isArray(classes) || !Array.isArray(inputs)) throw invalid('malformed Falaj metadata');
    return { task, classes, format: get(META.format), inputs };
  } catch (err) {
    if (err instanceof FalajError) throw err;
    throw invalid(`malformed Falaj metadata: ${(err as Error).message}`);
  }
}

/** The column as doubles for a numeric input (NaN = missing). */
function numericValues(col: Column, lenient: boolean): Float64Array {
  if (col.kind === 'numeric') return col.values;
  // The linear model's encoder accepts text columns whose levels are all numbers (an empty
  // CSV column read as text); the GBDT predictor refuses them, and so does this for GBDT.
  const numbers = col.levels.map((l) => (l.trim() === '' ? Number.NaN : Number(l)));
  if (!lenient || numbers.some((x) => !Number.isFinite(x))) {
    throw invalid(`column '${col.name}' is categorical but the model was trained on it as numeric`, {
      column: col.name,
      expected: 'numeric',
      actual: 'categorical',
    });
  }
  return Float64Array.from(col.codes, (c) => (c >= 0 ? (numbers[c] as number) : Number.NaN));
}

/** The column as strings for a categorical input; missing → the model's missing token. */
function stringValues(col: Column, missing: string, lenient: boolean): string[] {
  if (col.kind === 'categorical') {
    // onnxruntime-node cuts strings at the first NUL ("c\u0000x" would arrive as "c" and match
    // level "c"); such a level is none of the model's, so it is sent as missing.
    const levels = col.levels.map((l) => (l.includes('\u0000') ? missing : l));
    return Array.from(col.codes, (c) => (c >= 0 && c < levels.length ? (levels[c] as string) : missing));
  }
  // The linear encoder matches numbers to text levels by their decimal spelling ("3" ↔ 3).
  if (!lenient) {
    throw invalid(`column '${col.name}' is numeric but the model was trained on it as categorical`, {
      column: col.name,
      expected: 'categorical',
      actual: 'numeric',
    });
  }
  return Array.from(col.values, (x) => (Number.isNaN(x) ? missing : String(x)));
}

/** An onnxruntime session over an exported model, fed from Frames. */
export class OnnxPredictor {
  readonly task: Task;
  readonly classes: readonly string[];
  /** Feature columns the model expects, in order. */
  readonly featureNames: readonly string[];

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly meta: FalajOnnxMeta,
  ) {
    this.task = meta.task;
    this.classes = meta.classes;
    this.featureNames = meta.inputs.map((b) => b.column);
  }

  /** Loads ONNX bytes written by exportOnnx. */
  static async create(
    bytes: Uint8Array,
    options: ort.InferenceSession.SessionOptions = {},
  ): Promise<OnnxPredictor> {
    const meta = readMeta(bytes);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, options);
    } catch (err) {
      throw invalid(`onnxruntime cannot load the model: ${(err as Error).message}`);
    }
    return new OnnxPredictor(session, meta);
  }

  /** The input tensors for `frame`, by the model's column → input mapping. */
  feeds(frame: Frame): Record<string, ort.Tensor> {
    const byName = new Map(frame.columns.map((c) => [c.name, c]));
    const lenient = this.meta.format === 'falaj.linear';
    const n = frame.nRows;
    const feeds: Record<string, ort.Tensor> = {};
    for (const b of this.meta.inputs) {
      const col = byName.get(b.column);
      if (!col) {
        throw invalid(`the frame has no column '${b.column}' which the model needs`, { column: b.column });
      }
      const len = col.kind === 'numeric' ? col.values.length : col.codes.length;
      if (len !== n) {
        throw new FalajError('FALAJ_DATA_INVALID', `column '${b.column}' has ${len} values for ${n} rows`, {
          column: b.column,
        });
      }
      feeds[b.input] =
        b.kind === 'numeric'
          ? new ort.Tensor('float64', numericValues(col, lenient), [n, 1])
          : new ort.Tensor('string', stringValues(col, b.missing ?? '', lenient), [n, 1]);
    }
    return feeds;
  }

  /**
   * Probabilities (nRows × classes) or predictions (nRows × 1), row-major like the native
   * predict, plus the label output (class names) for classifiers.
   */
  async run(frame: Frame): Promise<{ values: Float64Array; labels?: string[] }> {
    if (frame.nRows === 0) {
      // onnxruntime accepts empty batches, but there is nothing to compute.
      return this.task === 'regression'
        ? { values: new Float64Array(0) }
        : { values: new Float64Array(0), labels: [] };
    }
    const out = await this.session.run(this.feeds(frame));
    if (this.task === 'regression') {
      return { values: Float64Array.from(out[OUTPUT_PREDICTION]?.data as Float64Array) };
    }
    return {
      values: Float64Array.from(out[OUTPUT_PROBABILITIES]?.data as Float64Array),
      labels: Array.from(out[OUTPUT_LABEL]?.data as string[]),
    };
  }

  /** The same layout as Predictor.predict. */
  async predict(frame: Frame): Promise<Float64Array> {
    return (await this.run(frame)).values;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** One-shot: load `bytes`, predict `frame`, release the session. */
export async function onnxPredict(bytes: Uint8Array, frame: Frame): Promise<Float64Array> {
  const p = await OnnxPredictor.create(bytes);
  try {
    return await p.predict(frame);
  } finally {
    await p.release();
  }
}
