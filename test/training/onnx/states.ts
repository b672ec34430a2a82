// Hand-made model states with known outputs, for testing the exported graphs' semantics
// independently of the trainers.
import type { GbdtFeature, GbdtState } from '../../../src/training/gbdt/index.js';
import type { LinearModelState } from '../../../src/training/linear/index.js';
import type { PreprocessState } from '../../../src/training/preprocess/index.js';

export const THRESHOLD = 0.1 + 0.2; // 0.30000000000000004: not a float32 value

/** The smallest double above x (x finite and positive). */
export function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

interface NodeSpec {
  feature: number;
  threshold?: number;
  set?: number[];
  missingLeft?: boolean;
  left?: number;
  right?: number;
  value?: number;
}

/** A GbdtState from per-tree node lists (local indices, children after parents). */
export function gbdtState(opts: {
  task: GbdtState['task'];
  classes: string[];
  features: GbdtFeature[];
  baseScore: number[];
  trees: NodeSpec[][];
}): GbdtState {
  const nOutputs = opts.baseScore.length;
  const nodes = opts.trees.flat();
  const n = nodes.length;
  const nodeOffset = new Int32Array(opts.trees.length + 1);
  opts.trees.forEach((t, i) => {
    nodeOffset[i + 1] = (nodeOffset[i] as number) + t.length;
  });
  const categories: number[] = [];
  const catStart = new Int32Array(n).fill(-1);
  const catCount = new Int32Array(n);
  nodes.forEach((s, i) => {
    if (s.set) {
      catStart[i] = categories.length;
      catCount[i] = s.set.length;
      categories.push(...s.set);
    }
  });
  const objective =
    opts.task === 'binary' ? 'binary' : opts.task === 'multiclass' ? 'multiclass' : 'squared_error';
  const link = opts.task === 'binary' ? 'logistic' : opts.task === 'multiclass' ? 'softmax' : 'identity';
  return {
    format: 'falaj-gbdt',
    version: 1,
    task: opts.task,
    objective,
    link,
    classes: opts.classes,
    features: opts.features,
    nOutputs,
    baseScore: opts.baseScore,
    nRounds: opts.trees.length / nOutputs,
    params: {} as GbdtState['params'],
    history: { trainLoss: [], validLoss: [] },
    trees: {
      nodeOffset,
      feature: Int32Array.from(nodes, (s) => s.feature),
      threshold: Float64Array.from(nodes, (s) => s.threshold ?? Number.NaN),
      missingLeft: Uint8Array.from(nodes, (s) => (s.missingLeft ? 1 : 0)),
      catStart,
      catCount,
      left: Int32Array.from(nodes, (s) => s.left ?? -1),
      right: Int32Array.from(nodes, (s) => s.right ?? -1),
      value: Float64Array.from(nodes, (s) => s.value ?? 0),
      gain: new Float64Array(n),
      cover: new Float64Array(n),
      count: new Int32Array(n),
      categories: Int32Array.from(categories),
    },
  };
}

/**
 * Regression, base 5000.5:
 *   tree 0: x <= THRESHOLD (missing left) ? (c in {'' (0), 'c' (2)} (missing right) ? 1 : 10) : 100
 *   tree 1: a single leaf, 0.125
 *   tree 2: x <= +Infinity (missing right) ? 1000 : 2000   (only NaN goes right)
 * Feature 'e' is categorical without any level (an all-missing training column).
 */
export function handGbdt(): GbdtState {
  return gbdtState({
    task: 'regression',
    classes: [],
    features: [
      { name: 'x', kind: 'numeric' },
      { name: 'c', kind: 'categorical', categories: ['', 'b', 'c', 'd'] },
      { name: 'e', kind: 'categorical', categories: [] },
    ],
    baseScore: [5000.5],
    trees: [
      [
        { feature: 0, threshold: THRESHOLD, missingLeft: true, left: 1, right: 2 },
        { feature: 1, set: [0, 2], missingLeft: false, left: 3, right: 4 },
        { feature: -1, value: 100 },
        { feature: -1, value: 1 },
        { feature: -1, value: 10 },
      ],
      [{ feature: -1, value: 0.125 }],
      [
        { feature: 0, threshold: Number.POSITIVE_INFINITY, missingLeft: false, left: 1, right: 2 },
        { feature: -1, value: 1000 },
        { feature: -1, value: 2000 },
      ],
    ],
  });
}

export function linearState(
  task: LinearModelState['task'],
  classes: string[],
  preprocess: PreprocessState,
  coefficients: number[][],
  intercepts: number[],
): LinearModelState {
  return {
    format: 'falaj.linear',
    version: 1,
    model: task === 'regression' ? 'linear' : 'logistic',
    task,
    target: 'y',
    classes,
    preprocess,
    coefficients,
    intercepts,
    params: { alpha: 0, l1Ratio: 0, maxIter: 1, tol: 1e-6 },
    convergence: { solver: 'lbfgs', iterations: 1, converged: true, objective: 0 },
  };
}

/**
 * Regression: 100 + 2·(x − 10)/4 + 3·[d = 'p'] − 1·[d = 'q'], with 'e' a categorical column
 * without levels (no design column).
 */
export function handLinear(): LinearModelState {
  return linearState(
    'regression',
    [],
    {
      columns: [
        { kind: 'numeric', name: 'x', mean: 10, scale: 4 },
        { kind: 'categorical', name: 'e', levels: [] },
        { kind: 'categorical', name: 'd', levels: ['p', 'q'] },
      ],
    },
    [[2, 3, -1]],
    [100],
  );
}
