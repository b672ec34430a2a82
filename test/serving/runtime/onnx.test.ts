// The ONNX runtime on foreign graphs built here with onnx-proto: a MatMul + Sigmoid binary
// classifier over one 2-D input, a TreeEnsembleClassifier and a TreeEnsembleRegressor. Each
// prediction through loadServingModel equals onnxruntime's own outputs on the same rows, also
// end to end through the V2 and MLflow codecs.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodeMlflowPredictions,
  encodeV2InferResponse,
  parseMlflowInvocation,
  parseV2InferRequest,
} from '../../../src/serving/protocols/index.js';
import { healthCheck, loadServingModel, type ServingModel } from '../../../src/serving/runtime/index.js';
import {
  direct,
  floats,
  ints,
  logistic,
  model,
  str,
  T,
  TREE_NODES,
  treeClassifier,
  treeRegressor,
  vi,
} from '../onnx-graphs.js';
import { batchOf, sha256, tempDir } from './helpers.js';

/** Writes model.onnx to a fresh dir; returns the dir and the digest list. */
async function onDisk(
  bytes: Uint8Array,
): Promise<{ dir: string; files: { name: string; digest: string }[] }> {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'model.onnx'), bytes);
  return { dir, files: [{ name: 'model.onnx', digest: sha256(bytes) }] };
}

function batchOfRows(model: ServingModel, rows: number[][]) {
  const cols: Record<string, Float64Array> = {};
  model.signature.inputs.forEach((s, j) => {
    cols[s.name] = Float64Array.from(rows, (r) => r[j] as number);
  });
  return batchOf(cols);
}

const ROWS3 = [
  [0.5, 1.25, -2],
  [3, 0, 1],
  [-1, 2, 0.25],
  [0, 0, 0],
];
const ROWS2 = [
  [0, 1],
  [0.5, 2],
  [0.75, 3],
  [2, -1],
  [Number.NaN, 5],
];

describe('ONNX runtime (foreign graphs)', () => {
  it('serves a MatMul + Sigmoid classifier over one 2-D input: columns X_0..X_2', async () => {
    const bytes = logistic();
    const { dir, files } = await onDisk(bytes);
    const served = await loadServingModel(dir, files, 'onnx');
    expect(served.runtime).toBe('onnx');
    expect(served.platform).toBe('onnxruntime_onnx');
    expect(served.task).toBe('classifier');
    expect(served.signature.inputs).toEqual([
      { name: 'X_0', type: 'float', missing: true },
      { name: 'X_1', type: 'float', missing: true },
      { name: 'X_2', type: 'float', missing: true },
    ]);
    expect(served.signature.outputs).toEqual([
      { name: 'predict', type: 'int64', shape: [-1] },
      { name: 'predict_proba', type: 'double', shape: [-1, 2] },
    ]);
    const p = await served.predict(batchOfRows(served, ROWS3));
    const out = await direct(bytes, ROWS3);
    if (p.kind !== 'classifier') throw new Error('not a classifier');
    expect(p.classes).toEqual([0, 1]);
    expect(p.labels).toEqual(Array.from(out.label?.data as BigInt64Array, Number));
    expect(p.probabilities.flat()).toEqual(Array.from(out.probabilities?.data as Float32Array));
    await healthCheck(served);
    await served.release();
  });

  it('names the matrix columns from features, and serves a single .onnx file path', async () => {
    const bytes = logistic();
    const { dir, files } = await onDisk(bytes);
    const served = await loadServingModel(path.join(dir, 'model.onnx'), files, 'onnx', {
      features: ['a', 'b', 'c'],
    });
    expect(served.signature.inputs.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    await expect(loadServingModel(dir, files, 'onnx', { features: ['a'] })).rejects.toMatchObject({
      code: 'FALAJ_MODEL_INVALID',
    });
    await expect(
      loadServingModel(dir, [{ name: 'model.onnx', digest: sha256(new Uint8Array([1])) }], 'onnx'),
    ).rejects.toMatchObject({ code: 'FALAJ_MODEL_CHECKSUM' });
  });

  it('serves a TreeEnsembleClassifier with string class labels', async () => {
    const bytes = treeClassifier();
    const { dir, files } = await onDisk(bytes);
    const served = await loadServingModel(dir, files, 'onnx');
    expect(served.task).toBe('classifier');
    expect(served.signature.outputs[0]).toEqual({ name: 'predict', type: 'string', shape: [-1] });
    const p = await served.predict(batchOfRows(served, ROWS2));
    const out = await direct(bytes, ROWS2);
    if (p.kind !== 'classifier') throw new Error('not a classifier');
    expect(p.classes).toEqual(['ant', 'bee', 'cat']);
    expect(p.labels).toEqual(Array.from(out.label?.data as string[]));
    expect(p.probabilities.flat()).toEqual(Array.from(out.probabilities?.data as Float32Array));
    await healthCheck(served);
  });

  it('serves a TreeEnsembleRegressor', async () => {
    const bytes = treeRegressor();
    const { dir, files } = await onDisk(bytes);
    const served = await loadServingModel(dir, files, 'onnx');
    expect(served.task).toBe('regressor');
    expect(served.signature.outputs).toEqual([{ name: 'predict', type: 'double', shape: [-1] }]);
    const p = await served.predict(batchOfRows(served, ROWS2));
    const out = await direct(bytes, ROWS2);
    if (p.kind !== 'regressor') throw new Error('not a regressor');
    expect(Array.from(p.values)).toEqual(Array.from(out.Y?.data as Float32Array));
    await healthCheck(served);
  });

  it('refuses a graph with a map output (ZipMap)', async () => {
    const bytes = model({
      name: 'zipmap',
      input: [vi('X', T.FLOAT, ['N', 2])],
      output: [
        vi('label', T.INT64, ['N']),
        {
          name: 'output_probability',
          type: {
            sequenceType: {
              elemType: { mapType: { keyType: T.INT64, valueType: { tensorType: { elemType: T.FLOAT } } } },
            },
          },
        },
      ],
      node: [
        {
          opType: 'TreeEnsembleClassifier',
          domain: 'ai.onnx.ml',
          input: ['X'],
          output: ['label', 'probs'],
          attribute: [
            ...TREE_NODES,
            ints('class_treeids', [0, 0, 1, 1]),
            ints('class_nodeids', [1, 2, 1, 2]),
            ints('class_ids', [1, 1, 1, 1]),
            floats('class_weights', [0.2, 0.8, 0.4, 0.6]),
            ints('classlabels_int64s', [0, 1]),
            str('post_transform', 'LOGISTIC'),
          ],
        },
        {
          opType: 'ZipMap',
          domain: 'ai.onnx.ml',
          input: ['probs'],
          output: ['output_probability'],
          attribute: [ints('classlabels_int64s', [0, 1])],
        },
      ],
    });
    const { dir, files } = await onDisk(bytes);
    await expect(loadServingModel(dir, files, 'onnx')).rejects.toThrow(/ZipMap/);
  });
});

describe('end to end through the codecs', () => {
  it('V2: one 2-D FP32 tensor in, predict and predict_proba out as onnxruntime gives them', async () => {
    const bytes = logistic();
    const { dir, files } = await onDisk(bytes);
    const served = await loadServingModel(dir, files, 'onnx');
    // As in the KServe V2 spec's examples: one input tensor, row-major, with an id.
    const body = {
      id: '42',
      inputs: [{ name: 'X', shape: [4, 3], datatype: 'FP32', data: ROWS3.flat() }],
    };
    const parsed = parseV2InferRequest(body, served.signature);
    expect(parsed.layout).toBe('tensor');
    const response = encodeV2InferResponse(await served.predict(parsed.batch), {
      modelName: 'logit',
      modelVersion: '1',
      id: parsed.id,
    });
    const out = await direct(bytes, ROWS3);
    expect(response.id).toBe('42');
    expect(response.outputs).toEqual([
      {
        name: 'predict',
        shape: [4],
        datatype: 'INT64',
        data: Array.from(out.label?.data as BigInt64Array, Number),
      },
      {
        name: 'predict_proba',
        shape: [4, 2],
        datatype: 'FP64',
        data: Array.from(out.probabilities?.data as Float32Array),
      },
    ]);
    // One input per column, the other layout.
    const perColumn = parseV2InferRequest(
      {
        inputs: served.signature.inputs.map((s, j) => ({
          name: s.name,
          shape: [4],
          datatype: 'FP32',
          data: ROWS3.map((r) => r[j]),
        })),
        outputs: [{ name: 'predict_proba' }],
      },
      served.signature,
    );
    const again = encodeV2InferResponse(await served.predict(perColumn.batch), {
      modelName: 'logit',
      outputs: perColumn.outputs,
    });
    expect(again.outputs).toEqual([response.outputs[1]]);
  });

  it('V2 and MLflow dataframe_split on the tree regressor', async () => {
    const bytes = treeRegressor();
    const { dir, files } = await onDisk(bytes);
    const served = await loadServingModel(dir, files, 'onnx', { features: ['age', 'income'] });
    const rows = ROWS2.slice(0, 4);
    const expected = Array.from((await direct(bytes, rows)).Y?.data as Float32Array);
    const v2 = parseV2InferRequest(
      {
        inputs: [
          { name: 'age', shape: [4], datatype: 'FP64', data: rows.map((r) => r[0]) },
          { name: 'income', shape: [4, 1], datatype: 'FP64', data: rows.map((r) => [r[1]]) },
        ],
      },
      served.signature,
    );
    const response = encodeV2InferResponse(await served.predict(v2.batch), { modelName: 'trees' });
    expect(response.outputs).toEqual([{ name: 'predict', shape: [4], datatype: 'FP64', data: expected }]);
    const mlflow = parseMlflowInvocation(
      'application/json',
      { dataframe_split: { columns: ['age', 'income'], data: rows } },
      served.signature,
    );
    expect(encodeMlflowPredictions(await served.predict(mlflow.batch))).toEqual({ predictions: expected });
  });
});
