// The serialisable form of a fitted linear model, and its validation when read back.
//
// Coefficients live in the STANDARDISED design space: row k multiplies the design vector
// produced by the preprocessing state (numeric: (x − mean) / scale with missing → 0;
// categorical: one 0/1 indicator per training level), and intercepts[k] is added. So an
// ONNX export is Imputer → Scaler (offset = mean, scale = 1/scale) and OneHotEncoder,
// concatenated in column order, then LinearClassifier / LinearRegressor with these
// coefficients. Binary models hold ONE row: the log-odds of classes[1]. Multiclass models
// hold one row per class (softmax). Regression holds one row in the target's own units.
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import { designWidth, type PreprocessState, parsePreprocessState } from '../preprocess/index.js';

export const LINEAR_FORMAT = 'falaj.linear';
export const LINEAR_VERSION = 1;

export interface LinearParams {
  /** Overall penalty strength on the per-row-averaged loss (scikit-learn ElasticNet's alpha). */
  readonly alpha: number;
  /** Share of the penalty that is L1: 0 = ridge, 1 = lasso. */
  readonly l1Ratio: number;
  readonly maxIter: number;
  readonly tol: number;
}

export interface Convergence {
  readonly solver: 'lbfgs' | 'fista';
  readonly iterations: number;
  readonly converged: boolean;
  /** Final value of the (standardised-target) objective, penalty included. */
  readonly objective: number;
}

export interface LinearModelState {
  readonly format: typeof LINEAR_FORMAT;
  readonly version: typeof LINEAR_VERSION;
  readonly model: 'logistic' | 'linear';
  readonly task: Task;
  /** Name of the target column it was trained on. */
  readonly target: string;
  /** Class names (index = output column) for classification, empty for regression. */
  readonly classes: readonly string[];
  readonly preprocess: PreprocessState;
  /** nRows = 1 (binary, regression) or nClasses; each of length designWidth(preprocess). */
  readonly coefficients: readonly (readonly number[])[];
  readonly intercepts: readonly number[];
  readonly params: LinearParams;
  readonly convergence: Convergence;
}

function invalid(message: string, field: string): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', `linear model: ${message}`, { field });
}

function finiteArray(v: unknown, length: number, field: string): number[] {
  if (!Array.isArray(v) || v.length !== length)
    throw invalid(`${field} must be an array of ${length} numbers`, field);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw invalid(`${field}[${i}] is not a finite number`, `${field}[${i}]`);
  });
  return [...(v as number[])];
}

/** Validates an untrusted object (a model file) as a LinearModelState. */
export function parseLinearState(x: unknown): LinearModelState {
  if (typeof x !== 'object' || x === null) throw invalid('state is not an object', '');
  const s = x as Record<string, unknown>;
  if (s.format !== LINEAR_FORMAT) throw invalid(`format must be '${LINEAR_FORMAT}'`, 'format');
  if (s.version !== LINEAR_VERSION) throw invalid(`unsupported version ${String(s.version)}`, 'version');
  if (s.model !== 'logistic' && s.model !== 'linear')
    throw invalid("model must be 'logistic' or 'linear'", 'model');
  const task = s.task;
  if (task !== 'binary' && task !== 'multiclass' && task !== 'regression') {
    throw invalid("task must be 'binary', 'multiclass' or 'regression'", 'task');
  }
  if ((s.model === 'linear') !== (task === 'regression'))
    throw invalid(`model '${s.model}' cannot have task '${task}'`, 'task');
  if (typeof s.target !== 'string') throw invalid('target must be a string', 'target');
  const classes = s.classes;
  if (
    !Array.isArray(classes) ||
    classes.some((c) => typeof c !== 'string') ||
    new Set(classes).size !== classes.length
  ) {
    throw invalid('classes must be a list of distinct strings', 'classes');
  }
  const expectedClasses = task === 'regression' ? 0 : task === 'binary' ? 2 : -1;
  if (expectedClasses >= 0 ? classes.length !== expectedClasses : classes.length < 3) {
    throw invalid(`task '${task}' cannot have ${classes.length} classes`, 'classes');
  }
  const preprocess = parsePreprocessState(s.preprocess);
  const p = designWidth(preprocess);
  const outputs = task === 'multiclass' ? classes.length : 1;
  if (!Array.isArray(s.coefficients) || s.coefficients.length !== outputs) {
    throw invalid(`coefficients must have ${outputs} rows`, 'coefficients');
  }
  const coefficients = s.coefficients.map((row, k) => finiteArray(row, p, `coefficients[${k}]`));
  const intercepts = finiteArray(s.intercepts, outputs, 'intercepts');
  const params = s.params as Record<string, unknown> | undefined;
  if (
    typeof params !== 'object' ||
    params === null ||
    typeof params.alpha !== 'number' ||
    typeof params.l1Ratio !== 'number' ||
    typeof params.maxIter !== 'number' ||
    typeof params.tol !== 'number'
  ) {
    throw invalid('params must hold numbers alpha, l1Ratio, maxIter and tol', 'params');
  }
  const conv = s.convergence as Record<string, unknown> | undefined;
  if (
    typeof conv !== 'object' ||
    conv === null ||
    (conv.solver !== 'lbfgs' && conv.solver !== 'fista') ||
    typeof conv.iterations !== 'number' ||
    typeof conv.converged !== 'boolean' ||
    typeof conv.objective !== 'number'
  ) {
    throw invalid('convergence must hold solver, iterations, converged and objective', 'convergence');
  }
  return {
    format: LINEAR_FORMAT,
    version: LINEAR_VERSION,
    model: s.model,
    task,
    target: s.target,
    classes: [...(classes as string[])],
    preprocess,
    coefficients,
    intercepts,
    params: { alpha: params.alpha, l1Ratio: params.l1Ratio, maxIter: params.maxIter, tol: params.tol },
    convergence: {
      solver: conv.solver,
      iterations: conv.iterations,
      converged: conv.converged,
      objective: conv.objective,
    },
  };
}
