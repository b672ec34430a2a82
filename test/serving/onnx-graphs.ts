// Foreign ONNX graphs built with onnx-proto, as another framework would export them: a
// MatMul/Sigmoid binary classifier over X [N, 3], a TreeEnsembleClassifier (string labels) and a
// TreeEnsembleRegressor over X [N, 2]; and onnxruntime called directly on rows, the reference
// every serving path is compared with.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const { onnx } = onnxProto;
export const T = onnx.TensorProto.DataType;
export const A = onnx.AttributeProto.AttributeType;

export type Attr = onnxProto.onnx.IAttributeProto;
export const ints = (name: string, v: number[]): Attr => ({ name, type: A.INTS, ints: v });
export const floats = (name: string, v: number[]): Attr => ({ name, type: A.FLOATS, floats: v });
export const strings = (name: string, v: string[]): Attr => ({
  name,
  type: A.STRINGS,
  strings: v.map((s) => new TextEncoder().encode(s)),
});
export const str = (name: string, s: string): Attr => ({
  name,
  type: A.STRING,
  s: new TextEncoder().encode(s),
});
export const int = (name: string, i: number): Attr => ({ name, type: A.INT, i });

export function vi(name: string, elemType: number, dims: (number | 'N')[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (d === 'N' ? { dimParam: 'N' } : { dimValue: d })) },
      },
    },
  };
}

export function model(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'test',
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      graph,
    }),
  ).finish();
}

/** sigmoid(X·w + b) as p1; probabilities [1 − p1, p1]; label = argmax (int64). */
export function logistic(): Uint8Array {
  return model({
    name: 'logistic',
    input: [vi('X', T.FLOAT, ['N', 3])],
    output: [vi('label', T.INT64, ['N']), vi('probabilities', T.FLOAT, ['N', 2])],
    initializer: [
      { name: 'W', dataType: T.FLOAT, dims: [3, 1], floatData: [0.8, -1.2, 0.5] },
      { name: 'B', dataType: T.FLOAT, dims: [1], floatData: [0.1] },
      { name: 'one', dataType: T.FLOAT, dims: [1], floatData: [1] },
    ],
    node: [
      { opType: 'MatMul', input: ['X', 'W'], output: ['xw'] },
      { opType: 'Add', input: ['xw', 'B'], output: ['z'] },
      { opType: 'Sigmoid', input: ['z'], output: ['p1'] },
      { opType: 'Sub', input: ['one', 'p1'], output: ['p0'] },
      { opType: 'Concat', input: ['p0', 'p1'], output: ['probabilities'], attribute: [int('axis', 1)] },
      {
        opType: 'ArgMax',
        input: ['probabilities'],
        output: ['label'],
        attribute: [int('axis', 1), int('keepdims', 0)],
      },
    ],
  });
}

// Two trees over X [N, 2]: tree 0 splits on x0 <= 0.5, tree 1 on x1 <= 2.
export const TREE_NODES = [
  ints('nodes_treeids', [0, 0, 0, 1, 1, 1]),
  ints('nodes_nodeids', [0, 1, 2, 0, 1, 2]),
  ints('nodes_featureids', [0, 0, 0, 1, 0, 0]),
  floats('nodes_values', [0.5, 0, 0, 2, 0, 0]),
  strings('nodes_modes', ['BRANCH_LEQ', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'LEAF', 'LEAF']),
  ints('nodes_truenodeids', [1, 0, 0, 1, 0, 0]),
  ints('nodes_falsenodeids', [2, 0, 0, 2, 0, 0]),
  ints('nodes_missing_value_tracks_true', [0, 0, 0, 0, 0, 0]),
];

export function treeClassifier(): Uint8Array {
  // Leaves add class weights (3 classes); softmax turns the sums into probabilities.
  const leaves = [
    [0, 1, [0.9, 0.1, 0]],
    [0, 2, [0, 0.3, 0.7]],
    [1, 1, [0.2, 0.6, 0.2]],
    [1, 2, [0.1, 0, 0.9]],
  ] as const;
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const classIds: number[] = [];
  const weights: number[] = [];
  for (const [t, n, w] of leaves)
    w.forEach((x, c) => {
      treeIds.push(t);
      nodeIds.push(n);
      classIds.push(c);
      weights.push(x);
    });
  return model({
    name: 'trees',
    input: [vi('X', T.FLOAT, ['N', 2])],
    output: [vi('label', T.STRING, ['N']), vi('probabilities', T.FLOAT, ['N', 3])],
    node: [
      {
        opType: 'TreeEnsembleClassifier',
        domain: 'ai.onnx.ml',
        input: ['X'],
        output: ['label', 'probabilities'],
        attribute: [
          ...TREE_NODES,
          ints('class_treeids', treeIds),
          ints('class_nodeids', nodeIds),
          ints('class_ids', classIds),
          floats('class_weights', weights),
          strings('classlabels_strings', ['ant', 'bee', 'cat']),
          str('post_transform', 'SOFTMAX'),
        ],
      },
    ],
  });
}

export function treeRegressor(): Uint8Array {
  return model({
    name: 'trees',
    input: [vi('X', T.FLOAT, ['N', 2])],
    output: [vi('Y', T.FLOAT, ['N', 1])],
    node: [
      {
        opType: 'TreeEnsembleRegressor',
        domain: 'ai.onnx.ml',
        input: ['X'],
        output: ['Y'],
        attribute: [
          ...TREE_NODES,
          int('n_targets', 1),
          ints('target_treeids', [0, 0, 1, 1]),
          ints('target_nodeids', [1, 2, 1, 2]),
          ints('target_ids', [0, 0, 0, 0]),
          floats('target_weights', [1.5, -2.25, 10, 20.5]),
          str('aggregate_function', 'SUM'),
        ],
      },
    ],
  });
}

export async function direct(bytes: Uint8Array, rows: number[][]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const k = rows[0]?.length ?? 0;
    const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, k]);
    return (await session.run({ X: x })) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}
