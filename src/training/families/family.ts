// What the rest of Falaj may know about a kind of model. Training, model files, tuning and the
// ONNX exporter ask a family instead of branching on 'gbdt' or 'linear', so that a new kind is
// one new file here (and the registry and serving, which look kinds up by name, follow).
import type { Predictor, Task } from '../estimator.js';
import type { TrainingData } from '../frame.js';
import type { InputBinding } from '../onnx/names.js';
import type { GraphBuilder, ValueInfoProto } from '../onnx/proto.js';
import type { SearchSpace } from '../tuning/space.js';

/** The `kind` a model file records. Stored in model.json: never renamed, or saved models stop loading. */
export type ModelKind = 'gbdt' | 'linear';

/** What every family's state holds; the ONNX metadata and model files read these fields. */
export interface ModelState {
  readonly format: string;
  readonly version: number;
  readonly task: Task;
  readonly classes: readonly string[];
}

/** Options every family's fit takes; a family ignores what it has no use for. */
export interface FitOptions {
  seed: number;
  /** Threads for families that train on several cores (default: all of them). */
  nThreads?: number;
  /** Rows a family that trains in rounds scores after each one (early stopping, pruning). */
  validation?: TrainingData;
  /** Called after each round by families that train in rounds; returning 'stop' ends training. */
  onRound?: (round: number, info: { trainLoss: number; validLoss: number }) => unknown;
}

/** A feature column as an ONNX graph input: categorical ones carry the levels the model knows. */
export interface OnnxColumn {
  name: string;
  kind: 'numeric' | 'categorical';
  levels?: readonly string[];
}

/**
 * One kind of model. `M` is the fitted model, which is also its predictor (estimator.ts: it
 * takes raw rows, its preprocessing included), so serving needs nothing but `load`. `S` is its
 * serialisable state, what model files store and the ONNX exporter reads. Methods, not function
 * properties, so that a family of a narrower model is still a `ModelFamily` in the registry.
 */
export interface ModelFamily<M extends Predictor = Predictor, S extends ModelState = ModelState> {
  readonly kind: ModelKind;
  /** How the ONNX doc string names the model ("Gradient-boosted trees (binary) exported by …"). */
  readonly title: string;
  /** The `format` field of this family's state: how an exported or loaded state is recognised. */
  readonly stateFormat: string;

  /** Trains on `data`; `params` are the family's own (unknown ones are refused by its trainer). */
  fit(data: TrainingData, params: Record<string, unknown>, options: FitOptions): Promise<M>;
  /** Whether `model` is a fitted model of this family (as fit and load return). */
  owns(model: unknown): model is M;
  /** The model's state, a copy (typed arrays and all). */
  state(model: M): S;
  /** Checks untrusted state in full (from a file or a caller); anything wrong is FALAJ_MODEL_INVALID. */
  parseState(state: unknown): S;
  /** The fitted model (the predictor) from a state such as model.json holds, checked in full. */
  load(state: unknown): M;

  /** Tuning: what `--tune N` searches without a space, and what a trial adds to that. */
  readonly tuning: {
    readonly space: SearchSpace;
    /** Parameters every trial starts from (below the fixed and the sampled ones). */
    readonly trialDefaults: Readonly<Record<string, unknown>>;
    /**
     * Parameters a trial settled itself while fitting (the rounds early stopping kept): part of
     * what the trial found, so the best trial's are refitted with.
     */
    settled?(model: M): Record<string, unknown>;
  };
  /**
   * Whether fit already spreads over every core on this many rows: tuning then runs trials one
   * at a time rather than side by side.
   */
  usesAllCores(rows: number): boolean;

  /** ONNX export: the graph inputs and the graph from them to the outputs (heads.ts). */
  readonly onnx: {
    /** The feature columns in order; throws FALAJ_MODEL_INVALID for a model ONNX cannot express. */
    columns(state: S): OnnxColumn[];
    graph(
      g: GraphBuilder,
      state: S,
      bindings: readonly InputBinding[],
    ): { inputs: ValueInfoProto[]; outputs: ValueInfoProto[] };
  };
}
