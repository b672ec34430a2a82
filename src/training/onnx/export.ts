// exportOnnx: a fitted built-in model (or its state) → the bytes of an ONNX ModelProto that
// takes raw rows, one input per feature column, and gives what the native predict gives.
// Everything that goes into the bytes is derived from the model alone, in a fixed order, so the
// same model always exports to the same bytes (no timestamps, no random names).
import type { Task } from '../estimator.js';
import {
  type FalajModel,
  familyOfModel,
  familyOfState,
  type ModelFamily,
  type ModelState,
  type OnnxColumn,
} from '../families/index.js';
import type { GbdtModel } from '../gbdt/model.js';
import type { GbdtState } from '../gbdt/state.js';
import type { LinearModel } from '../linear/model.js';
import type { LinearModelState } from '../linear/state.js';
import { cannotExport } from './cannot-export.js';
import { bindInputs, INTERNAL_PREFIX } from './names.js';
import { encodeModel, GraphBuilder, ML_DOMAIN, type ModelProto } from './proto.js';

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

/** The family and validated state of whatever was passed; states from files are checked in full. */
function resolve(model: unknown): { family: ModelFamily; state: ModelState } {
  const owner = familyOfModel(model);
  if (owner) return { family: owner, state: owner.state(model as FalajModel) };
  const family = familyOfState(model);
  if (family) return { family, state: family.parseState(model) };
  const format =
    typeof model === 'object' && model !== null ? (model as { format?: unknown }).format : undefined;
  throw cannotExport(
    `expected a GBDT or linear model (or its state); got ${format === undefined ? typeof model : `format ${String(format)}`}`,
  );
}

function describe(what: string, task: Task, classes: readonly string[], outputs: string[]): string {
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
function checkLevels(columns: readonly OnnxColumn[]): void {
  for (const c of columns) {
    const bad = c.levels?.find((l) => l.includes('\u0000'));
    if (bad !== undefined) {
      throw cannotExport(
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
  const { family, state } = resolve(model);
  const g = new GraphBuilder(INTERNAL_PREFIX);
  const columns = family.onnx.columns(state);
  checkLevels(columns);
  const bindings = bindInputs(columns);
  const io = family.onnx.graph(g, state, bindings);
  const featureNames = columns.map((c) => c.name);
  const { task, classes } = state;
  const outputNames = io.outputs.map((o) => o.name as string);
  const description = describe(family.title, task, classes, outputNames);
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
      name: opts.graphName ?? `falaj_${family.kind}`,
      node: g.nodes,
      initializer: g.initializers,
      input: io.inputs,
      output: io.outputs,
    },
    metadataProps: [
      { key: META.exportVersion, value: String(ONNX_EXPORT_VERSION) },
      { key: META.format, value: state.format },
      { key: META.formatVersion, value: String(state.version) },
      { key: META.task, value: task },
      { key: META.classes, value: JSON.stringify(classes) },
      { key: META.features, value: JSON.stringify(featureNames) },
      { key: META.inputs, value: JSON.stringify(bindings) },
      { key: META.outputs, value: JSON.stringify(outputNames) },
    ],
  };
  return encodeModel(proto);
}
