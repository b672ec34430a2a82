// Linear models as a model family: logistic regression for a class target, linear (ridge,
// elastic net) regression for a numeric one, one family because one state, file kind and ONNX
// graph serve both (linear/ trains them, onnx/linear.ts exports them).
import { LinearModel } from '../linear/model.js';
import { LINEAR_FORMAT, type LinearModelState, parseLinearState } from '../linear/state.js';
import { trainLinearModel } from '../linear/train.js';
import { cannotExport } from '../onnx/cannot-export.js';
import { buildLinearGraph } from '../onnx/linear.js';
import { designWidth } from '../preprocess/state.js';
import { float } from '../tuning/space.js';
import type { ModelFamily } from './family.js';

export const linearFamily: ModelFamily<LinearModel, LinearModelState> = {
  kind: 'linear',
  title: 'Linear model',
  stateFormat: LINEAR_FORMAT,

  // Deterministic solvers on one thread, no rounds: the seed and the round options do not apply.
  async fit(data, params) {
    return trainLinearModel(data, params);
  },
  owns: (model): model is LinearModel => model instanceof LinearModel,
  state: (model) => model.state(),
  parseState: parseLinearState,
  load: (state) => LinearModel.fromState(state),

  tuning: {
    // The regularisation strength on a log scale and the L1/L2 mix.
    space: { alpha: float(1e-6, 1, { log: true }), l1Ratio: float(0, 1) },
    trialDefaults: {},
  },
  usesAllCores: () => false,

  onnx: {
    columns(s) {
      if (designWidth(s.preprocess) === 0)
        throw cannotExport(
          'the linear model has no design column (every feature is categorical without levels)',
        );
      return s.preprocess.columns.map((c) =>
        c.kind === 'numeric'
          ? { name: c.name, kind: c.kind }
          : { name: c.name, kind: c.kind, levels: c.levels },
      );
    },
    graph: buildLinearGraph,
  },
};
