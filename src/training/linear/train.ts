// Fitting logistic (binary and multinomial) and linear/ridge/elastic-net regression.
//
// Objective, with W = Σ wᵢ and β the coefficients of the standardised design (intercepts
// unpenalised):
//   classification: (1/W) Σ wᵢ·CE(yᵢ, softmax/sigmoid(zᵢ)) + α(1−ρ)/2·‖β‖² + αρ·‖β‖₁
//   regression:     (1/2W) Σ wᵢ (yᵢ − zᵢ)²             + α(1−ρ)/2·‖β‖² + αρ·‖β‖₁
// (ρ = l1Ratio), the scaling of scikit-learn's ElasticNet / SGD models. Pure L2 (ρ = 0) is
// solved by L-BFGS, anything with L1 by FISTA. For regression the solver works on the target
// standardised to mean 0 and unit spread and maps back, with the L1 strength divided by the
// spread, which is the same minimiser in the original units; tolerances are thus relative.
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import type { ClassTarget, TrainingData } from '../frame.js';
import { encode, fitPreprocess, type PreprocessState } from '../preprocess/index.js';
import { minimizeFista } from './fista.js';
import { minimizeLbfgs, type SolverResult } from './lbfgs.js';
import { LinearModel } from './model.js';
import { type LossKind, makeObjective, penaltyMask } from './objectives.js';
import { LINEAR_FORMAT, LINEAR_VERSION, type LinearParams } from './state.js';

export const LINEAR_DEFAULTS: LinearParams = { alpha: 1e-4, l1Ratio: 0, maxIter: 1000, tol: 1e-6 };

function badParam(name: string, message: string, value: unknown): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `linear model: parameter '${name}' ${message}`, {
    parameter: name,
    value,
  });
}

/** Fills in defaults and checks every parameter (unknown names included). */
export function resolveLinearParams(params: Partial<LinearParams> = {}): LinearParams {
  for (const key of Object.keys(params)) {
    if (!(key in LINEAR_DEFAULTS))
      throw badParam(key, `is not known (use ${Object.keys(LINEAR_DEFAULTS).join(', ')})`, key);
  }
  const p = { ...LINEAR_DEFAULTS, ...params };
  if (typeof p.alpha !== 'number' || !(p.alpha >= 0) || !Number.isFinite(p.alpha)) {
    throw badParam('alpha', 'must be a finite number ≥ 0', p.alpha);
  }
  if (typeof p.l1Ratio !== 'number' || !(p.l1Ratio >= 0 && p.l1Ratio <= 1)) {
    throw badParam('l1Ratio', 'must be within [0, 1]', p.l1Ratio);
  }
  if (!Number.isInteger(p.maxIter) || p.maxIter < 1)
    throw badParam('maxIter', 'must be a positive integer', p.maxIter);
  if (typeof p.tol !== 'number' || !(p.tol > 0) || !Number.isFinite(p.tol)) {
    throw badParam('tol', 'must be a finite number > 0', p.tol);
  }
  return p;
}

/** Row weights normalised to sum 1, after checking they are finite and non-negative. */
function normalisedWeights(data: TrainingData): Float64Array {
  const n = data.features.nRows;
  const t = data.target;
  const targetRows = t.kind === 'classification' ? t.labels.length : t.values.length;
  if (targetRows !== n) {
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `target '${t.name}' has ${targetRows} rows, the features ${n}`,
      {
        column: t.name,
      },
    );
  }
  const w = new Float64Array(n);
  if (data.weights === undefined) {
    w.fill(n > 0 ? 1 / n : 0);
    return w;
  }
  if (data.weights.length !== n) {
    throw new FalajError('FALAJ_DATA_INVALID', `weights have ${data.weights.length} entries for ${n} rows`, {
      parameter: 'weights',
    });
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = data.weights[i] as number;
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw new FalajError(
        'FALAJ_DATA_INVALID',
        `weight of row ${i + 1} is ${v}; weights must be finite and ≥ 0`,
        {
          row: i + 1,
          value: v,
        },
      );
    }
    total += v;
  }
  if (!(total > 0))
    throw new FalajError('FALAJ_DATA_INVALID', 'the weights sum to 0', { parameter: 'weights' });
  for (let i = 0; i < n; i++) w[i] = (data.weights[i] as number) / total;
  return w;
}

function solve(
  loss: LossKind,
  data: TrainingData,
  y: Float64Array | Int32Array,
  k: number,
  params: LinearParams,
  l1Strength: number,
  init: (theta: Float64Array, p: number) => void,
): { result: SolverResult; solver: 'lbfgs' | 'fista'; p: number; pre: PreprocessState } {
  const w = normalisedWeights(data);
  const pre = fitPreprocess(data.features, data.weights);
  const design = encode(pre, data.features);
  const p = design.width;
  const l2 = params.alpha * (1 - params.l1Ratio);
  const fg = makeObjective({ loss, design, k, y, w, l2 });
  const theta0 = new Float64Array(k * (p + 1));
  init(theta0, p);
  const options = { maxIter: params.maxIter, tol: params.tol };
  if (l1Strength > 0) {
    return {
      result: minimizeFista(fg, theta0, l1Strength, penaltyMask(p, k), options),
      solver: 'fista',
      p,
      pre,
    };
  }
  return { result: minimizeLbfgs(fg, theta0, options), solver: 'lbfgs', p, pre };
}

function unpack(theta: Float64Array, p: number, k: number, scale = 1, shift = 0) {
  const coefficients: number[][] = [];
  const intercepts: number[] = [];
  for (let c = 0; c < k; c++) {
    const row: number[] = [];
    // +0 turns −0 into 0 so that equal models serialise to equal bytes.
    for (let j = 0; j < p; j++) row.push((theta[c * (p + 1) + j] as number) * scale + 0);
    coefficients.push(row);
    intercepts.push((theta[c * (p + 1) + p] as number) * scale + shift + 0);
  }
  return { coefficients, intercepts };
}

/**
 * Logistic regression: binary (sigmoid on classes[1]) when the target has two classes
 * with weight, multinomial softmax otherwise. Classes with no (weighted) rows are dropped
 * from the model; fewer than two remaining is FALAJ_DATA_INVALID.
 */
export function trainLogisticRegression(data: TrainingData, params?: Partial<LinearParams>): LinearModel {
  const opts = resolveLinearParams(params);
  const target = data.target;
  if (target.kind !== 'classification') {
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `logistic regression needs a class target; '${target.name}' is numeric`,
      {
        column: target.name,
      },
    );
  }
  const { classes, labels } = presentClasses(data, target);
  const k = classes.length;
  const binary = k === 2;
  const w = normalisedWeights(data);
  const prior = new Float64Array(k);
  for (let i = 0; i < labels.length; i++)
    prior[labels[i] as number] = (prior[labels[i] as number] as number) + (w[i] as number);
  const outputs = binary ? 1 : k;
  const { result, solver, p, pre } = solve(
    binary ? 'logistic' : 'softmax',
    data,
    labels,
    outputs,
    opts,
    opts.alpha * opts.l1Ratio,
    (theta, width) => {
      // Start from the class priors: the best intercept-only model.
      if (binary) theta[width] = Math.log((prior[1] as number) / (prior[0] as number));
      else for (let c = 0; c < k; c++) theta[c * (width + 1) + width] = Math.log(prior[c] as number);
    },
  );
  const { coefficients, intercepts } = unpack(result.x, p, outputs);
  const task: Task = binary ? 'binary' : 'multiclass';
  return LinearModel.fromTrainedState({
    format: LINEAR_FORMAT,
    version: LINEAR_VERSION,
    model: 'logistic',
    task,
    target: target.name,
    classes,
    preprocess: pre,
    coefficients,
    intercepts,
    params: opts,
    convergence: { solver, iterations: result.iterations, converged: result.converged, objective: result.f },
  });
}

/** Classes that carry weight, and labels re-indexed into them. */
function presentClasses(data: TrainingData, target: ClassTarget): { classes: string[]; labels: Int32Array } {
  const n = target.labels.length;
  const mass = new Float64Array(target.classes.length);
  for (let i = 0; i < n; i++) {
    const l = target.labels[i] as number;
    if (l < 0 || l >= target.classes.length) {
      throw new FalajError('FALAJ_DATA_INVALID', `target '${target.name}' row ${i + 1} has no class`, {
        column: target.name,
        row: i + 1,
      });
    }
    mass[l] = (mass[l] as number) + (data.weights ? (data.weights[i] as number) : 1);
  }
  const remap = new Int32Array(target.classes.length).fill(-1);
  const classes: string[] = [];
  target.classes.forEach((c, i) => {
    if ((mass[i] as number) > 0) {
      remap[i] = classes.length;
      classes.push(c);
    }
  });
  if (classes.length < 2) {
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `target '${target.name}' has ${classes.length === 1 ? `a single class ('${classes[0]}')` : 'no rows'}; classification needs at least two`,
      { column: target.name, classes },
    );
  }
  if (classes.length === target.classes.length) return { classes, labels: target.labels };
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = remap[target.labels[i] as number] as number;
  return { classes, labels };
}

/** Linear regression: ordinary least squares with alpha = 0, ridge, lasso or elastic net. */
export function trainLinearRegression(data: TrainingData, params?: Partial<LinearParams>): LinearModel {
  const opts = resolveLinearParams(params);
  const target = data.target;
  if (target.kind !== 'regression') {
    throw new FalajError(
      'FALAJ_DATA_INVALID',
      `linear regression needs a numeric target; '${target.name}' is categorical`,
      {
        column: target.name,
      },
    );
  }
  const n = target.values.length;
  if (n === 0)
    throw new FalajError('FALAJ_DATA_INVALID', 'linear regression needs at least one row', {
      column: target.name,
    });
  const w = normalisedWeights(data);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const v = target.values[i] as number;
    if (!Number.isFinite(v)) {
      throw new FalajError('FALAJ_DATA_INVALID', `target '${target.name}' row ${i + 1} is ${v}`, {
        column: target.name,
        row: i + 1,
      });
    }
    mean += (w[i] as number) * v;
  }
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (w[i] as number) * ((target.values[i] as number) - mean) ** 2;
  const spread = variance > 0 ? Math.sqrt(variance) : 1;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = ((target.values[i] as number) - mean) / spread;
  const { result, solver, p, pre } = solve(
    'squared',
    data,
    y,
    1,
    opts,
    (opts.alpha * opts.l1Ratio) / spread,
    () => {},
  );
  const { coefficients, intercepts } = unpack(result.x, p, 1, spread, mean);
  return LinearModel.fromTrainedState({
    format: LINEAR_FORMAT,
    version: LINEAR_VERSION,
    model: 'linear',
    task: 'regression',
    target: target.name,
    classes: [],
    preprocess: pre,
    coefficients,
    intercepts,
    params: opts,
    convergence: { solver, iterations: result.iterations, converged: result.converged, objective: result.f },
  });
}

/** Logistic regression for a class target, linear regression for a numeric one. */
export function trainLinearModel(data: TrainingData, params?: Partial<LinearParams>): LinearModel {
  return data.target.kind === 'classification'
    ? trainLogisticRegression(data, params)
    : trainLinearRegression(data, params);
}
