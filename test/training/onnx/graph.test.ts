// What the exported bytes hold: model header, opsets, inputs and outputs, metadata, and that the
// same model always gives the same bytes.
import { describe, expect, it } from 'vitest';
import { GbdtModel, trainGbdt } from '../../../src/training/gbdt/index.js';
import { LinearModel, trainLinearModel } from '../../../src/training/linear/index.js';
import {
  exportOnnx,
  IR_VERSION,
  OnnxPredictor,
  OPSET_ML,
  OPSET_ONNX,
} from '../../../src/training/onnx/index.js';
import { DataType } from '../../../src/training/onnx/proto.js';
import { trainingData } from './data.js';
import { decode, graphOf, metadata } from './inspect.js';
import { handGbdt, handLinear } from './states.js';

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('exported model layout', () => {
  it('declares the header, opsets, one [N,1] input per column and the documented outputs', async () => {
    const model = await trainGbdt(trainingData('multiclass', 1500, 3), { nRounds: 5, nThreads: 1 });
    const bytes = exportOnnx(model);
    const m = decode(bytes);
    expect(Number(m.irVersion)).toBe(IR_VERSION);
    expect(m.producerName).toBe('falaj');
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
      ['', OPSET_ONNX],
      ['ai.onnx.ml', OPSET_ML],
    ]);
    const g = graphOf(bytes);
    const inputs = g.input.map((i) => ({
      name: i.name,
      type: i.type?.tensorType?.elemType,
      dims: i.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue)),
    }));
    expect(inputs).toEqual([
      { name: 'income____', type: DataType.DOUBLE, dims: ['N', 1] },
      { name: 'score', type: DataType.DOUBLE, dims: ['N', 1] },
      { name: 'count', type: DataType.DOUBLE, dims: ['N', 1] },
      { name: 'colour', type: DataType.STRING, dims: ['N', 1] },
      { name: 'home_city', type: DataType.STRING, dims: ['N', 1] },
    ]);
    expect(g.output.map((o) => [o.name, o.type?.tensorType?.elemType])).toEqual([
      ['probabilities', DataType.DOUBLE],
      ['label', DataType.STRING],
    ]);
    expect(g.node.map((n) => n.opType)).toEqual(
      expect.arrayContaining([
        'LabelEncoder',
        'Concat',
        'TreeEnsemble',
        'Add',
        'Softmax',
        'ArgMax',
        'Gather',
      ]),
    );
    const meta = metadata(bytes);
    expect(meta['falaj.task']).toBe('multiclass');
    expect(JSON.parse(meta['falaj.classes'] as string)).toEqual(['low', 'mid', 'high', 'top']);
    expect(JSON.parse(meta['falaj.features'] as string)).toEqual([
      'income ($)',
      'score',
      'count',
      'colour',
      'home city',
    ]);
    expect(JSON.parse(meta['falaj.inputs'] as string)[0]).toEqual({
      column: 'income ($)',
      input: 'income____',
      kind: 'numeric',
    });
    expect(meta['falaj.model_format']).toBe('falaj-gbdt');
    expect(meta['falaj.onnx_export_version']).toBe('1');
    expect(m.docString).toContain('probabilities');
    // The predictor reads the same metadata back.
    const p = await OnnxPredictor.create(bytes);
    expect(p.featureNames).toEqual(model.featureNames);
    expect(p.classes).toEqual(model.classes);
    await p.release();
  });

  it('a regression graph has a single prediction output; linear graphs use double MatMul', () => {
    const g = graphOf(exportOnnx(handLinear()));
    expect(g.output.map((o) => [o.name, o.type?.tensorType?.elemType])).toEqual([
      ['prediction', DataType.DOUBLE],
    ]);
    expect(g.node.map((n) => n.opType)).toEqual(
      expect.arrayContaining(['MatMul', 'Where', 'IsNaN', 'IsInf', 'Equal']),
    );
    expect(g.input.map((i) => i.name)).toEqual(['x', 'e', 'd']);
    expect(graphOf(exportOnnx(handGbdt())).output.map((o) => o.name)).toEqual(['prediction']);
  });
});

describe('determinism', () => {
  it('the same GBDT model, its state and a model rebuilt from the state export to identical bytes', async () => {
    const model = await trainGbdt(trainingData('binary', 1500, 4), { nRounds: 10, nThreads: 1, seed: 9 });
    const a = exportOnnx(model);
    expect(same(a, exportOnnx(model))).toBe(true);
    expect(same(a, exportOnnx(model.toState()))).toBe(true);
    expect(same(a, exportOnnx(GbdtModel.fromState(model.toState())))).toBe(true);
    // Retraining with the same seed gives the same model, hence the same file.
    const again = await trainGbdt(trainingData('binary', 1500, 4), { nRounds: 10, nThreads: 1, seed: 9 });
    expect(same(a, exportOnnx(again))).toBe(true);
    // And a different model does not (the comparison can fail).
    const other = await trainGbdt(trainingData('binary', 1500, 4), { nRounds: 11, nThreads: 1, seed: 9 });
    expect(same(a, exportOnnx(other))).toBe(false);
  });

  it('the same linear model exports to identical bytes', () => {
    const data = trainingData('regression', 1000, 5);
    const a = exportOnnx(trainLinearModel(data));
    const model = trainLinearModel(data);
    expect(same(a, exportOnnx(model))).toBe(true);
    expect(same(a, exportOnnx(LinearModel.fromState(model.state())))).toBe(true);
    expect(same(a, exportOnnx(model, { description: 'x' }))).toBe(false);
  });
});
