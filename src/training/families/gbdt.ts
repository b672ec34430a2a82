// Gradient-boosted trees as a model family (gbdt/ trains them, onnx/gbdt.ts exports them).
import { GbdtModel } from '../gbdt/model.js';
import { type GbdtState, validateState } from '../gbdt/state.js';
import { trainGbdt } from '../gbdt/train.js';
import { buildGbdtGraph } from '../onnx/gbdt.js';
import { float, int } from '../tuning/space.js';
import type { ModelFamily } from './family.js';

/** At and above this many rows the histograms are built on every core (gbdt/params.ts, parallelMinRows). */
const ALL_CORES_ROWS = 50_000;

export const gbdtFamily: ModelFamily<GbdtModel, GbdtState> = {
  kind: 'gbdt',
  title: 'Gradient-boosted trees',
  stateFormat: 'falaj-gbdt',

  fit(data, params, options) {
    return trainGbdt(data, {
      seed: options.seed,
      ...(options.nThreads ? { nThreads: options.nThreads } : {}),
      ...params,
      ...(options.validation ? { validation: options.validation } : {}),
      ...(options.onRound ? { onRound: options.onRound } : {}),
    });
  },
  owns: (model): model is GbdtModel => model instanceof GbdtModel,
  state: (model) => model.toState(),
  parseState: validateState,
  load: (state) => GbdtModel.fromState(state),

  tuning: {
    // The parameters that matter most, on the scales they act on (learning rate and the L2
    // penalty on a log scale).
    space: {
      learningRate: float(0.01, 0.3, { log: true }),
      maxLeaves: int(8, 128, { log: true }),
      minSamplesLeaf: int(5, 100, { log: true }),
      lambdaL2: float(1e-3, 10, { log: true }),
      colsample: float(0.5, 1),
      subsample: float(0.5, 1),
    },
    // A trial stops boosting once its validation loss stalls, and the rounds it kept are part of
    // what it found.
    trialDefaults: { earlyStoppingRounds: 20 },
    settled: (model) => ({ nRounds: model.toState().nRounds }),
  },
  usesAllCores: (rows) => rows >= ALL_CORES_ROWS,

  onnx: {
    columns: (s) =>
      s.features.map((f) =>
        f.kind === 'numeric'
          ? { name: f.name, kind: f.kind }
          : { name: f.name, kind: f.kind, levels: f.categories },
      ),
    graph: buildGbdtGraph,
  },
};
