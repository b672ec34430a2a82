export { minimizeFista } from './fista.js';
export { minimizeLbfgs, type ObjectiveFn, type SolverOptions, type SolverResult } from './lbfgs.js';
export { LinearModel } from './model.js';
export {
  type Convergence,
  LINEAR_FORMAT,
  LINEAR_VERSION,
  type LinearModelState,
  type LinearParams,
  parseLinearState,
} from './state.js';
export {
  LINEAR_DEFAULTS,
  resolveLinearParams,
  trainLinearModel,
  trainLinearRegression,
  trainLogisticRegression,
} from './train.js';
