// The ONNX graph of a linear model (logistic or linear regression):
//
//   numeric columns     double [N,1] each ─ Concat → [N,q] ─ Sub mean ─ Mul 1/scale
//                         ─ Where(IsNaN ∨ IsInf, 0, ·)            (missing → the mean, i.e. 0)
//   categorical column  string [N,1] ─ LabelEncoder → level index (unseen → −1)
//                         ─ Equal [0..L) ─ Cast double → one-hot [N,L] (unseen → all zeros)
//   Concat → design [N,p] ─ MatMul Wᵀ ─ Add intercepts ─ head (heads.ts)
//
// Standard double operators instead of Imputer/Scaler/OneHotEncoder/LinearClassifier/
// LinearRegressor: those take their parameters as float32 attributes (Scaler, Imputer,
// Linear*) and output float32 (OneHotEncoder, Linear*); onnxruntime has no double kernel for
// LinearRegressor at all. Means, scales and coefficients in float32 would move a regression in
// the thousands by far more than 1e-5. Here every step is the native computation in the same
// double arithmetic: (x − mean) · (1 / scale), then a dot product.
//
// The design puts the numeric block first and the one-hot blocks after it; the coefficient
// columns are permuted to match, which changes nothing but the order of the additions.
import type { LinearModelState } from '../linear/state.js';
import { addHead } from './heads.js';
import type { InputBinding } from './names.js';
import {
  attr,
  DataType,
  doubleTensor,
  type GraphBuilder,
  int64Tensor,
  ML_DOMAIN,
  type ValueInfoProto,
  valueInfo,
} from './proto.js';

/** Design positions of the native layout (state.ts), reordered: numeric block, then one-hot blocks. */
function designOrder(s: LinearModelState): number[] {
  const numeric: number[] = [];
  const onehot: number[] = [];
  let j = 0;
  for (const c of s.preprocess.columns) {
    if (c.kind === 'numeric') numeric.push(j++);
    else for (let l = 0; l < c.levels.length; l++) onehot.push(j++);
  }
  return [...numeric, ...onehot];
}

/** Adds the linear graph to `g`; returns the graph inputs and outputs. The design must not be empty. */
export function buildLinearGraph(
  g: GraphBuilder,
  s: LinearModelState,
  bindings: readonly InputBinding[],
): { inputs: ValueInfoProto[]; outputs: ValueInfoProto[] } {
  const inputs: ValueInfoProto[] = [];
  const numericInputs: string[] = [];
  const means: number[] = [];
  const inverse: number[] = [];
  const blocks: string[] = [];
  s.preprocess.columns.forEach((c, i) => {
    const b = bindings[i] as InputBinding;
    if (c.kind === 'numeric') {
      inputs.push(valueInfo(b.input, DataType.DOUBLE, ['N', 1]));
      numericInputs.push(b.input);
      means.push(c.mean);
      // The native encoder multiplies by 1 / scale (not divides): the same double here.
      inverse.push(1 / c.scale);
      return;
    }
    inputs.push(valueInfo(b.input, DataType.STRING, ['N', 1]));
    // A column without training levels contributes no design column (its input is unused).
    if (c.levels.length === 0) return;
    const index = g.op('LabelEncoder', [b.input], {
      domain: ML_DOMAIN,
      hint: 'level',
      attributes: [
        attr.strings('keys_strings', c.levels),
        attr.ints(
          'values_int64s',
          c.levels.map((_, k) => k),
        ),
        attr.int('default_int64', -1),
      ],
    });
    // −1 equals no level: unseen and missing rows get all zeros, as natively. (ONNX OneHot would
    // wrap −1 around to the last level.)
    const levels = g.constant(
      'levels',
      int64Tensor(
        c.levels.map((_, k) => k),
        [c.levels.length],
      ),
    );
    const hot = g.op('Equal', [index, levels], { hint: 'hot' });
    blocks.push(g.op('Cast', [hot], { hint: 'onehot', attributes: [attr.int('to', DataType.DOUBLE)] }));
  });
  if (numericInputs.length > 0) {
    const x =
      numericInputs.length === 1
        ? (numericInputs[0] as string)
        : g.op('Concat', numericInputs, { hint: 'numeric', attributes: [attr.int('axis', 1)] });
    const centred = g.op('Sub', [x, g.constant('mean', doubleTensor(means))], { hint: 'centred' });
    const scaled = g.op('Mul', [centred, g.constant('inv_scale', doubleTensor(inverse))], { hint: 'scaled' });
    const missing = g.op('Or', [g.op('IsNaN', [x], { hint: 'nan' }), g.op('IsInf', [x], { hint: 'inf' })], {
      hint: 'missing',
    });
    const zero = g.constant('zero', doubleTensor([0], []));
    blocks.unshift(g.op('Where', [missing, zero, scaled], { hint: 'standardised' }));
  }
  const design =
    blocks.length === 1
      ? (blocks[0] as string)
      : g.op('Concat', blocks, { hint: 'design', attributes: [attr.int('axis', 1)] });
  // Wᵀ as [p, outputs], rows in the reordered design order.
  const order = designOrder(s);
  const K = s.coefficients.length;
  const weights: number[] = [];
  for (const j of order)
    for (let k = 0; k < K; k++) weights.push((s.coefficients[k] as readonly number[])[j] as number);
  const scores = g.op('MatMul', [design, g.constant('weights', doubleTensor(weights, [order.length, K]))], {
    hint: 'scores',
  });
  const raw = g.op('Add', [scores, g.constant('intercepts', doubleTensor(s.intercepts))], { hint: 'raw' });
  return { inputs, outputs: addHead(g, raw, s.task, s.classes) };
}
