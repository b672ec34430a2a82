// exportOnnx: a fitted built-in model (or its state) → the bytes of an ONNX ModelProto that
// takes raw rows, one input per feature column, and gives what the native predict gives.
// Everything that goes into the bytes is derived from the model alone, in a fixed order, so the
// same model always exports to the same bytes (no timestamps, no random names).
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import { GbdtModel } from '../gbdt/model.js';
import { type GbdtState, validateState } from '../gbdt/state.js';
import { LinearModel } from '../linear/model.js';
import { LINEAR_FORMAT, type LinearModelState, parseLinearState } from '../linear/state.js';
import { designWidth } from '../preprocess/state.js';
import { buildGbdtGraph } from './gbdt.js';
import { buildLinearGraph } from './linear.js';
import { bindInputs, INTERNAL_PREFIX, type InputBinding } from './names.js';
import { encodeModel, GraphBuilder, ML_DOMAIN, type ModelProto, type ValueInfoProto } from './proto.js';

/** Version of the graph layout and metadata described here; bumped when either changes. */
export const ONNX_EXPORT_VERSION = 1;
/** IR 10 with opset 22 and ai.onnx.ml 5 (ONNX 1.17): the first release with TreeEnsemble v5. */
export const IR_VERSION = 10;
export const OPSET_ONNX = 22;
export const OPSET_ML = 5;

/** Metadata keys (ModelProto.metadata_props); values are strings, JSON where structured. */
export const META = {
  exportVersion: 'falaj.onnx_export_version',
  format: 'falaj.model_format',
  formatVersion: 'falaj.model_format_version',
  task: 'falaj.task',
  classes: 'falaj.classes',
  features: 'falaj.features',
  inputs: 'falaj.inputs',
  outputs: 'falaj.outputs',
} as const;

export interface ExportOptions {
  /** The graph's name (default: 'falaj_gbdt' or 'falaj_linear'). */
  readonly graphName?: string;
  /** Free text for the model's doc_string, after the generated description. */
  readonly description?: string;
}

export type ExportableModel = GbdtModel | LinearModel | GbdtState | LinearModelState;

function invalid(message: string, details?: unknown): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', `cannot export to ONNX: ${message}`, details);
}

type Resolved = { kind: 'gbdt'; state: GbdtState } | { kind: 'linear'; state: LinearModelState };

/** The validated state of whatever was passed; states from files are checked in full. */
function resolve(model: unknown): Resolved {
  if (model instanceof GbdtModel) return { kind: 'gbdt', state: model.toState() };
  if (model instanceof LinearModel) return { kind: 'linear', state: model.state() };
  const format =
    typeof model === 'object' && model !== null ? (model as { format?: unknown }).format : undefined;
  if (format === 'falaj-gbdt') return { kind: 'gbdt', state: validateState(model) };
  if (format === LINEAR_FORMAT) return { kind: 'linear', state: parseLinearState(model) };
  throw invalid(
    `expected a GBDT or linear model (or its state); got ${format === undefined ? typeof model : `format ${String(format)}`}`,
  );
}

function describe(
  kind: 'gbdt' | 'linear',
  task: Task,
  classes: readonly string[],
  outputs: string[],
): string {
  const what = kind === 'gbdt' ? 'Gradient-boosted trees' : 'Linear model';
  const out =
    task === 'regression'
      ? 'prediction: double [N, 1]'
      : `probabilities: double [N, ${classes.length}] in the order of falaj.classes; ` +
        'label: string [N], the class name with the highest probability';
  return (
    `${what} (${task}) exported by Falaj. Inputs: one per feature column, [N, 1], double for ` +
    'numeric (NaN = missing), string for categorical (a level the model never saw = missing); ' +
    `falaj.inputs maps column names to input names. Outputs (${outputs.join(', ')}): ${out}.`
  );
}

/**
 * onnxruntime-node passes strings to the runtime cut at the first NUL, so a level holding one
 * could never be matched (and its prefix might match another level): refused rather than
 * exported to a model that answers differently from the native one.
 */
function checkLevels(columns: readonly { name: string; levels: readonly string[] }[]): void {
  for (const c of columns) {
    const bad = c.levels.find((l) => l.includes('\u0000'));
    if (bad !== undefined) {
      throw invalid(
        `categorical column '${c.name}' has a level containing a NUL character (${JSON.stringify(bad)})`,
        {
          column: c.name,
        },
      );
    }
  }
}

/**
 * The ONNX bytes of `model`. Throws FALAJ_MODEL_INVALID when the model (or state) is malformed
 * or cannot be expressed (a linear model without a single design column, a categorical level
 * containing NUL).
 */
export function exportOnnx(model: ExportableModel, opts: ExportOptions = {}): Uint8Array {
  const r = resolve(model);
  const g = new GraphBuilder(INTERNAL_PREFIX);
  let bindings: InputBinding[];
  let io: { inputs: ValueInfoProto[]; outputs: ValueInfoProto[] };
  let featureNames: string[];
  let formatVersion: number;
  if (r.kind === 'gbdt') {
    const s = r.state;
    featureNames = s.features.map((f) => f.name);
    checkLevels(
      s.features.flatMap((f) => (f.kind === 'categorical' ? [{ name: f.name, levels: f.categories }] : [])),
    );
    bindings = bindInputs(
      s.features.map((f) =>
        f.kind === 'numeric'
          ? { name: f.name, kind: f.kind }
          : { name: f.name, kind: f.kind, levels: f.categories },
      ),
    );
    io = buildGbdtGraph(g, s, bindings);
    formatVersion = s.version;
  } else {
    const s = r.state;
    if (designWidth(s.preprocess) === 0) {
      throw invalid('the linear model has no design column (every feature is categorical without levels)');
    }
    featureNames = s.preprocess.columns.map((c) => c.name);
    checkLevels(s.preprocess.columns.flatMap((c) => (c.kind === 'categorical' ? [c] : [])));
    bindings = bindInputs(
      s.preprocess.columns.map((c) =>
        c.kind === 'numeric'
          ? { name: c.name, kind: c.kind }
          : { name: c.name, kind: c.kind, levels: c.levels },
      ),
    );
    io = buildLinearGraph(g, s, bindings);
    formatVersion = s.version;
  }
  const { task, classes } = r.state;
  const outputNames = io.outputs.map((o) => o.name as string);
  const description = describe(r.kind, task, classes, outputNames);
  const proto: ModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: '', version: OPSET_ONNX },
      { domain: ML_DOMAIN, version: OPSET_ML },
    ],
    producerName: 'falaj',
    producerVersion: String(ONNX_EXPORT_VERSION),
    domain: 'falaj',
    modelVersion: 1,
    docString: opts.description ? `${description}\n\n${opts.description}` : description,
    graph: {
      name: opts.graphName ?? `falaj_${r.kind}`,
      node: g.nodes,
      initializer: g.initializers,
      input: io.inputs,
      output: io.outputs,
    },
    metadataProps: [
      { key: META.exportVersion, value: String(ONNX_EXPORT_VERSION) },
      { key: META.format, value: r.state.format },
      { key: META.formatVersion, value: String(formatVersion) },
      { key: META.task, value: task },
      { key: META.classes, value: JSON.stringify(classes) },
      { key: META.features, value: JSON.stringify(featureNames) },
      { key: META.inputs, value: JSON.stringify(bindings) },
      { key: META.outputs, value: JSON.stringify(outputNames) },
    ],
  };
  return encodeModel(proto);
}
