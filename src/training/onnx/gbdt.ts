// The ONNX graph of a GBDT model:
//
//   numeric column      double [N,1] ─────────────────────────────┐
//   categorical column  string [N,1] ─ LabelEncoder → index ──────┤ Concat → X double [N,F]
//                       (unseen strings → NaN, i.e. missing)      │
//   X ─ TreeEnsemble (ai.onnx.ml 5, double) ─ Add baseScore ─ head (heads.ts)
//
// TreeEnsemble v5 rather than TreeEnsembleRegressor/Classifier v3: v3 outputs float32 (a
// regression in the thousands would miss 1e-5) and compares thresholds in float32 unless given
// *_as_tensor; v5 keeps input, thresholds, leaves and sums in double, tests set membership
// directly (BRANCH_MEMBER, the native categorical split), and routes NaN by
// nodes_missing_value_tracks_true, which is the native missingLeft.
import type { GbdtState } from '../gbdt/state.js';
import { addHead } from './heads.js';
import type { InputBinding } from './names.js';
import {
  attr,
  DataType,
  doubleTensor,
  type GraphBuilder,
  ML_DOMAIN,
  uint8Tensor,
  type ValueInfoProto,
  valueInfo,
} from './proto.js';

const BRANCH_LEQ = 0;
const BRANCH_MEMBER = 6;

/** The TreeEnsemble attributes of all trees, in the v5 layout (interior nodes and leaves apart). */
function treeEnsembleAttributes(s: GbdtState) {
  const t = s.trees;
  const K = s.nOutputs;
  const nTrees = t.nodeOffset.length - 1;
  const featureIds: number[] = [];
  const modes: number[] = [];
  const splits: number[] = [];
  const trueIds: number[] = [];
  const trueLeafs: number[] = [];
  const falseIds: number[] = [];
  const falseLeafs: number[] = [];
  const missingTrue: number[] = [];
  const members: number[] = [];
  const leafTargets: number[] = [];
  const leafWeights: number[] = [];
  const roots: number[] = [];
  for (let tr = 0; tr < nTrees; tr++) {
    const a = t.nodeOffset[tr] as number;
    const z = t.nodeOffset[tr + 1] as number;
    // First pass: number interior nodes and leaves of this tree in node order.
    const id = new Int32Array(z - a);
    let nInterior = featureIds.length;
    let nLeaves = leafWeights.length;
    for (let n = a; n < z; n++) {
      if ((t.feature[n] as number) < 0) {
        id[n - a] = nLeaves++;
        leafTargets.push(tr % K);
        leafWeights.push(t.value[n] as number);
      } else id[n - a] = nInterior++;
    }
    if ((t.feature[a] as number) < 0) {
      // A tree that is one leaf: v5 roots are interior nodes, so a root whose both branches
      // lead to that leaf stands in for it (the spec's own encoding of a degenerate tree).
      roots.push(featureIds.length);
      featureIds.push(0);
      modes.push(BRANCH_LEQ);
      splits.push(0);
      trueIds.push(id[0] as number);
      trueLeafs.push(1);
      falseIds.push(id[0] as number);
      falseLeafs.push(1);
      missingTrue.push(1);
      continue;
    }
    roots.push(id[0] as number);
    for (let n = a; n < z; n++) {
      const f = t.feature[n] as number;
      if (f < 0) continue;
      const l = a + (t.left[n] as number);
      const r = a + (t.right[n] as number);
      featureIds.push(f);
      if (s.features[f]?.kind === 'categorical') {
        modes.push(BRANCH_MEMBER);
        splits.push(0);
        const cs = t.catStart[n] as number;
        for (let k = cs; k < cs + (t.catCount[n] as number); k++) members.push(t.categories[k] as number);
        members.push(Number.NaN); // ends this node's set
      } else {
        modes.push(BRANCH_LEQ);
        splits.push(t.threshold[n] as number);
      }
      // "true" is the left child: x <= threshold, or x in the left set.
      trueIds.push(id[l - a] as number);
      trueLeafs.push((t.feature[l] as number) < 0 ? 1 : 0);
      falseIds.push(id[r - a] as number);
      falseLeafs.push((t.feature[r] as number) < 0 ? 1 : 0);
      missingTrue.push(t.missingLeft[n] as number);
    }
  }
  const attributes = [
    attr.int('n_targets', K),
    attr.int('aggregate_function', 1), // SUM
    attr.int('post_transform', 0), // NONE: the link is applied in double by the head
    attr.ints('tree_roots', roots),
    attr.ints('nodes_featureids', featureIds),
    attr.tensor('nodes_modes', uint8Tensor(modes)),
    attr.tensor('nodes_splits', doubleTensor(splits)),
    attr.ints('nodes_truenodeids', trueIds),
    attr.ints('nodes_trueleafs', trueLeafs),
    attr.ints('nodes_falsenodeids', falseIds),
    attr.ints('nodes_falseleafs', falseLeafs),
    attr.ints('nodes_missing_value_tracks_true', missingTrue),
    attr.ints('leaf_targetids', leafTargets),
    attr.tensor('leaf_weights', doubleTensor(leafWeights)),
  ];
  if (members.length > 0) attributes.push(attr.tensor('membership_values', doubleTensor(members)));
  return attributes;
}

/** Adds the GBDT graph to `g`; returns the graph inputs and outputs. */
export function buildGbdtGraph(
  g: GraphBuilder,
  s: GbdtState,
  bindings: readonly InputBinding[],
): { inputs: ValueInfoProto[]; outputs: ValueInfoProto[] } {
  const inputs: ValueInfoProto[] = [];
  const columns: string[] = [];
  s.features.forEach((f, i) => {
    const b = bindings[i] as InputBinding;
    if (f.kind === 'numeric') {
      inputs.push(valueInfo(b.input, DataType.DOUBLE, ['N', 1]));
      columns.push(b.input);
      return;
    }
    inputs.push(valueInfo(b.input, DataType.STRING, ['N', 1]));
    if (f.categories.length === 0) {
      // No level was seen in training (an all-missing column): every value is missing. A
      // LabelEncoder needs keys, so a NaN column of the input's shape stands in for it.
      const shape = g.op('Shape', [b.input], { hint: 'shape' });
      columns.push(
        g.op('ConstantOfShape', [shape], {
          hint: 'index',
          attributes: [attr.tensor('value', doubleTensor([Number.NaN]))],
        }),
      );
      return;
    }
    // Level name → the model's category index as a double; anything else → NaN (missing),
    // exactly how the native predictor treats levels it never saw.
    columns.push(
      g.op('LabelEncoder', [b.input], {
        domain: ML_DOMAIN,
        hint: 'index',
        attributes: [
          attr.strings('keys_strings', f.categories),
          attr.tensor('values_tensor', doubleTensor(f.categories.map((_, k) => k))),
          attr.tensor('default_tensor', doubleTensor([Number.NaN])),
        ],
      }),
    );
  });
  const x = g.op('Concat', columns, { hint: 'X', attributes: [attr.int('axis', 1)] });
  const sums = g.op('TreeEnsemble', [x], {
    domain: ML_DOMAIN,
    hint: 'sums',
    attributes: treeEnsembleAttributes(s),
  });
  const base = g.constant('base_score', doubleTensor(s.baseScore));
  const raw = g.op('Add', [sums, base], { hint: 'raw' });
  return { inputs, outputs: addHead(g, raw, s.task, s.classes) };
}
