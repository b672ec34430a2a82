// The serialisable state of a fitted GBDT model and its validation. The native model file and
// the ONNX TreeEnsemble exporter consume this structure:
//
//   format 'falaj-gbdt', version 1
//   task        'binary' | 'multiclass' | 'regression'
//   objective   the training loss; link maps raw scores to outputs:
//                 'logistic' (binary: p1 = 1/(1+e^-raw), output [1-p1, p1]),
//                 'softmax' (multiclass: p_k = e^raw_k / Σ e^raw_j), 'identity' (regression)
//   classes     class names; output column k of predict() is classes[k]
//   features    in input order; numeric, or categorical with `categories` = the levels seen in
//               training (a frame's level is matched by name; unseen levels count as missing)
//   nOutputs    raw scores per row: number of classes for multiclass, else 1
//   baseScore   initial raw score per output (log-odds, log prior, mean or median)
//   trees       tree t adds to output t % nOutputs (boosting round floor(t / nOutputs));
//               raw_k = baseScore[k] + Σ leaf values of the trees of output k
//     nodeOffset  Int32Array(nTrees + 1): tree t owns nodes [nodeOffset[t], nodeOffset[t+1])
//     per node, indices local to the tree (root 0, children after their parent, -1 at leaves):
//       feature Int32Array (-1 = leaf), threshold Float64Array (numeric: x <= threshold goes
//       left; the threshold is the largest training value of the left side, +Infinity when every
//       number goes left and only missing goes right; NaN for categorical and leaves),
//       missingLeft Uint8Array (1: missing goes left), catStart/catCount Int32Array (categorical
//       split: categories[catStart .. catStart+catCount) are the sorted category indices going
//       left, others go right; catCount 0 and catStart -1 otherwise), left/right Int32Array,
//       value Float64Array (leaf output with the learning rate applied, 0 inside),
//       gain Float64Array (split gain, 0 at leaves), cover Float64Array (hessian sum),
//       count Int32Array (training rows)
//     categories  Int32Array: all categorical left sets, concatenated
//   nRounds     boosting rounds kept (trees = nRounds * nOutputs); with early stopping the best
//   history     per finished round: trainLoss and validLoss (NaN without validation); the loss
//               is the objective's weighted mean (log loss, MSE, MAE, huber)
import { FalajError } from '../../core/errors.js';
import type { Task } from '../estimator.js';
import type { Link } from './objectives.js';
import type { GbdtObjective, GbdtParams } from './params.js';

export type GbdtFeature =
  | { readonly name: string; readonly kind: 'numeric' }
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

export interface GbdtTrees {
  readonly nodeOffset: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly missingLeft: Uint8Array;
  readonly catStart: Int32Array;
  readonly catCount: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
  readonly gain: Float64Array;
  readonly cover: Float64Array;
  readonly count: Int32Array;
  readonly categories: Int32Array;
}

export interface GbdtState {
  readonly format: 'falaj-gbdt';
  readonly version: 1;
  readonly task: Task;
  readonly objective: GbdtObjective;
  readonly link: Link;
  readonly classes: readonly string[];
  readonly features: readonly GbdtFeature[];
  readonly nOutputs: number;
  readonly baseScore: readonly number[];
  readonly nRounds: number;
  readonly params: GbdtParams;
  readonly history: { readonly trainLoss: readonly number[]; readonly validLoss: readonly number[] };
  readonly trees: GbdtTrees;
}

function invalid(message: string, details?: unknown): FalajError {
  return new FalajError('FALAJ_MODEL_INVALID', `invalid GBDT model state: ${message}`, details);
}

const LINKS: Record<GbdtObjective, { task: Task[]; link: Link }> = {
  binary: { task: ['binary'], link: 'logistic' },
  multiclass: { task: ['multiclass'], link: 'softmax' },
  squared_error: { task: ['regression'], link: 'identity' },
  absolute_error: { task: ['regression'], link: 'identity' },
  huber: { task: ['regression'], link: 'identity' },
};

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function typed<T>(trees: Record<string, unknown>, name: string, ctor: { new (n: number): T }, n: number): T {
  const a = trees[name];
  if (!(a instanceof ctor)) throw invalid(`trees.${name} must be a ${ctor.name}`);
  if ((a as unknown as { length: number }).length !== n) {
    throw invalid(`trees.${name} has length ${(a as unknown as { length: number }).length}, expected ${n}`);
  }
  return a;
}

/** Checks every field and every node; anything inconsistent is FALAJ_MODEL_INVALID. */
export function validateState(s: unknown): GbdtState {
  if (!isObject(s)) throw invalid('not an object');
  if (s.format !== 'falaj-gbdt') throw invalid(`format is ${String(s.format)}, expected falaj-gbdt`);
  if (s.version !== 1) throw invalid(`unsupported version ${String(s.version)}`);
  const objective = s.objective as GbdtObjective;
  const spec = LINKS[objective];
  if (!spec) throw invalid(`unknown objective ${String(s.objective)}`);
  if (!spec.task.includes(s.task as Task))
    throw invalid(`task ${String(s.task)} does not fit objective ${objective}`);
  if (s.link !== spec.link) throw invalid(`link ${String(s.link)} does not fit objective ${objective}`);
  const classes = s.classes;
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string'))
    throw invalid('classes must be strings');
  const nOutputs = s.nOutputs;
  if (s.task === 'binary' && (classes.length !== 2 || nOutputs !== 1))
    throw invalid('binary needs 2 classes, 1 output');
  if (s.task === 'multiclass' && (classes.length < 3 || nOutputs !== classes.length)) {
    throw invalid('multiclass needs 3+ classes and one output per class');
  }
  if (s.task === 'regression' && (classes.length !== 0 || nOutputs !== 1))
    throw invalid('regression has no classes');
  const features = s.features;
  if (!Array.isArray(features) || features.length === 0) throw invalid('features must be a non-empty list');
  const names = new Set<string>();
  features.forEach((f: unknown, i) => {
    if (!isObject(f) || typeof f.name !== 'string') throw invalid(`feature ${i} has no name`);
    if (names.has(f.name)) throw invalid(`feature '${f.name}' appears twice`);
    names.add(f.name);
    if (f.kind === 'categorical') {
      if (!Array.isArray(f.categories) || !f.categories.every((c) => typeof c === 'string')) {
        throw invalid(`feature '${f.name}' categories must be strings`);
      }
    } else if (f.kind !== 'numeric') throw invalid(`feature '${f.name}' has unknown kind ${String(f.kind)}`);
  });
  const base = s.baseScore;
  if (!Array.isArray(base) || base.length !== nOutputs || !base.every((v) => Number.isFinite(v))) {
    throw invalid('baseScore must hold one finite number per output');
  }
  if (!isObject(s.params)) throw invalid('params missing');
  if (!isObject(s.history) || !Array.isArray(s.history.trainLoss) || !Array.isArray(s.history.validLoss)) {
    throw invalid('history missing');
  }
  const t = s.trees;
  if (!isObject(t)) throw invalid('trees missing');
  const nodeOffset = t.nodeOffset;
  if (!(nodeOffset instanceof Int32Array) || nodeOffset.length < 1)
    throw invalid('trees.nodeOffset must be an Int32Array');
  const nTrees = nodeOffset.length - 1;
  const nRounds = s.nRounds;
  if (
    typeof nRounds !== 'number' ||
    !Number.isInteger(nRounds) ||
    nRounds * (nOutputs as number) !== nTrees
  ) {
    throw invalid(`nRounds ${String(nRounds)} does not match ${nTrees} trees`);
  }
  const nNodes = nodeOffset[nTrees] as number;
  const feature = typed(t, 'feature', Int32Array, nNodes);
  const threshold = typed(t, 'threshold', Float64Array, nNodes);
  const missingLeft = typed(t, 'missingLeft', Uint8Array, nNodes);
  const catStart = typed(t, 'catStart', Int32Array, nNodes);
  const catCount = typed(t, 'catCount', Int32Array, nNodes);
  const left = typed(t, 'left', Int32Array, nNodes);
  const right = typed(t, 'right', Int32Array, nNodes);
  const value = typed(t, 'value', Float64Array, nNodes);
  typed(t, 'gain', Float64Array, nNodes);
  typed(t, 'cover', Float64Array, nNodes);
  typed(t, 'count', Int32Array, nNodes);
  const categories = t.categories;
  if (!(categories instanceof Int32Array)) throw invalid('trees.categories must be an Int32Array');
  for (let tr = 0; tr < nTrees; tr++) {
    const a = nodeOffset[tr] as number;
    const z = nodeOffset[tr + 1] as number;
    if (!(z > a)) throw invalid(`tree ${tr} has no nodes`, { tree: tr });
    const size = z - a;
    const parents = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const n = a + i;
      const where = { tree: tr, node: i };
      const f = feature[n] as number;
      if (f === -1) {
        if (left[n] !== -1 || right[n] !== -1) throw invalid(`tree ${tr} leaf ${i} has children`, where);
        if (!Number.isFinite(value[n])) throw invalid(`tree ${tr} leaf ${i} value is not finite`, where);
        continue;
      }
      const feat = features[f] as GbdtFeature | undefined;
      if (!feat || f < 0) throw invalid(`tree ${tr} node ${i} splits on unknown feature ${f}`, where);
      const l = left[n] as number;
      const r = right[n] as number;
      // Children after the parent and inside the tree: no cycles, traversal ends.
      if (!(l > i && l < size && r > i && r < size && l !== r)) {
        throw invalid(`tree ${tr} node ${i} has bad children ${l}, ${r}`, where);
      }
      parents[l] = (parents[l] as number) + 1;
      parents[r] = (parents[r] as number) + 1;
      if ((missingLeft[n] as number) > 1)
        throw invalid(`tree ${tr} node ${i} missingLeft must be 0 or 1`, where);
      if (feat.kind === 'numeric') {
        if (Number.isNaN(threshold[n]) || catCount[n] !== 0) {
          throw invalid(`tree ${tr} node ${i} numeric split needs a threshold`, where);
        }
      } else {
        const cs = catStart[n] as number;
        const cc = catCount[n] as number;
        if (cc < 1 || cs < 0 || cs + cc > categories.length) {
          throw invalid(`tree ${tr} node ${i} category set out of range`, where);
        }
        for (let k = cs; k < cs + cc; k++) {
          const c = categories[k] as number;
          if (c < 0 || c >= feat.categories.length || (k > cs && c <= (categories[k - 1] as number))) {
            throw invalid(
              `tree ${tr} node ${i} category set must be sorted indices of '${feat.name}'`,
              where,
            );
          }
        }
      }
    }
    for (let i = 1; i < size; i++) {
      if (parents[i] !== 1)
        throw invalid(`tree ${tr} node ${i} has ${parents[i]} parents`, { tree: tr, node: i });
    }
  }
  return s as unknown as GbdtState;
}
