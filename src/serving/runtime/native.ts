// The native runtime: a Falaj model directory loaded through its family (the compiled GBDT
// predictor, the linear model), fed a training Frame built from the parsed batch.
import type { Predictor } from '../../training/estimator.js';
import type { Column, Frame } from '../../training/frame.js';
import { loadModel } from '../../training/model-file.js';
import {
  type ColumnBatch,
  type ColumnSpec,
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

interface FeatureInfo {
  readonly kind: 'numeric' | 'categorical';
  /** Categorical: the levels the model knows. */
  readonly levels: readonly string[];
}

/**
 * The kind of each feature, from the model's state: GBDT states list `features` with a kind
 * (and `categories`), linear ones `preprocess.columns` with a kind (and `levels`). A feature
 * neither names is numeric.
 */
function featureKinds(state: unknown): Map<string, FeatureInfo> {
  const s = (state ?? {}) as { features?: unknown; preprocess?: { columns?: unknown } };
  const list = Array.isArray(s.features) ? s.features : s.preprocess?.columns;
  const out = new Map<string, FeatureInfo>();
  if (!Array.isArray(list)) return out;
  for (const f of list as { name?: unknown; kind?: unknown; categories?: unknown; levels?: unknown }[]) {
    if (typeof f?.name !== 'string') continue;
    const levels = Array.isArray(f.categories) ? f.categories : Array.isArray(f.levels) ? f.levels : [];
    out.set(f.name, {
      kind: f.kind === 'categorical' ? 'categorical' : 'numeric',
      levels: levels.filter((l): l is string => typeof l === 'string'),
    });
  }
  return out;
}

/** The platform string of a model kind ('gbdt' → 'falaj_gbdt'). */
function platformOf(kind: string): string {
  return `falaj_${kind}`;
}

class NativeModel implements ServingModel {
  readonly runtime = 'falaj' as const;
  readonly task: 'classifier' | 'regressor';
  readonly signature: ModelSignature;
  private readonly labels: readonly Label[];
  private readonly specs: readonly ColumnSpec[];

  constructor(
    private readonly predictor: Predictor,
    readonly platform: string,
    kinds: Map<string, FeatureInfo>,
  ) {
    this.task = predictor.task === 'regression' ? 'regressor' : 'classifier';
    this.labels = presentClasses(predictor.classes);
    this.specs = predictor.featureNames.map(
      (name): ColumnSpec => ({
        name,
        type: kinds.get(name)?.kind === 'categorical' ? 'string' : 'double',
        missing: true,
      }),
    );
    this.signature = { inputs: this.specs, outputs: defaultOutputs(this.task, this.labels) };
  }

  /** The training frame for a batch: numeric columns shared, string columns coded. */
  frameOf(batch: ColumnBatch): Frame {
    const rows = batch.rows;
    const columns = new Array<Column>(this.specs.length);
    for (let j = 0; j < this.specs.length; j++) {
      const spec = this.specs[j] as ColumnSpec;
      const data = batch.columns.get(spec.name);
      if (data === undefined) throw badBatch(`the batch has no column '${spec.name}'`, spec.name);
      if (data.length !== rows)
        throw badBatch(`column '${spec.name}' has ${data.length} values for ${rows} rows`, spec.name);
      if (spec.type === 'string') {
        if (data instanceof Float64Array)
          throw badBatch(`column '${spec.name}' holds numbers but the model takes strings`, spec.name);
        columns[j] = categorical(spec.name, data, rows);
      } else {
        if (!(data instanceof Float64Array))
          throw badBatch(`column '${spec.name}' holds strings but the model takes numbers`, spec.name);
        columns[j] = { kind: 'numeric', name: spec.name, values: data };
      }
    }
    return { nRows: rows, columns };
  }

  async predict(batch: ColumnBatch): Promise<Prediction> {
    const frame = this.frameOf(batch);
    let out: Float64Array;
    try {
      out = this.predictor.predict(frame);
    } catch (err) {
      throw inferenceFailed(err, 'falaj');
    }
    if (this.task === 'regressor') return { kind: 'regressor', values: out };
    const { labels, probabilities } = classify(out, frame.nRows, this.labels);
    return { kind: 'classifier', labels, probabilities, classes: this.labels };
  }

  async release(): Promise<void> {}
}

/** Loads a native model directory (its files already checked against their digests). */
export async function loadNativeModel(dir: string): Promise<ServingModel> {
  const { model, manifest } = await loadModel(dir);
  const kinds = featureKinds(manifest.state);
  const served = new NativeModel(model, platformOf(manifest.kind), kinds);
  const sample = new Map<string, string>();
  for (const [name, info] of kinds) if (info.kind === 'categorical') sample.set(name, info.levels[0] ?? '');
  SAMPLE_VALUES.set(served, sample);
  return served;
}
