// The native runtime: models trained with the training library, saved as model files, loaded
// through loadServingModel; predictions equal the predictor's own on the same rows.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import { healthCheck, loadServingModel } from '../../../src/serving/runtime/index.js';
import type { Frame, TrainingData } from '../../../src/training/frame.js';
import { trainGbdt } from '../../../src/training/gbdt/index.js';
import { trainLinearModel } from '../../../src/training/linear/index.js';
import { type FalajModel, saveModel } from '../../../src/training/model-file.js';
import { exportOnnx, onnxPredict } from '../../../src/training/onnx/index.js';
import { batchOf, digestsOf, tempDir } from './helpers.js';

const LEVELS = ['red', 'green', 'blue'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** x1, x2 numeric (some missing), colour categorical (some missing); the target depends on all. */
function data(task: 'binary' | 'multiclass' | 'regression', n = 600): TrainingData {
  const r = rng(7);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const codes = new Int32Array(n);
  const labels = new Int32Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = r() * 4 - 2;
    x2[i] = r() < 0.05 ? Number.NaN : r() * 10;
    codes[i] = r() < 0.05 ? -1 : Math.floor(r() * 3);
    const score =
      (x1[i] as number) + (codes[i] === 1 ? 1.5 : 0) + (Number.isNaN(x2[i]) ? 0 : (x2[i] as number) / 10);
    values[i] = score + r() * 0.1;
    labels[i] = task === 'binary' ? (score > 0.5 ? 1 : 0) : score < 0 ? 0 : score < 1.2 ? 1 : 2;
  }
  const features: Frame = {
    nRows: n,
    columns: [
      { kind: 'numeric', name: 'x1', values: x1 },
      { kind: 'numeric', name: 'x2', values: x2 },
      { kind: 'categorical', name: 'colour', codes, levels: LEVELS },
    ],
  };
  const target =
    task === 'regression'
      ? ({ kind: 'regression', name: 'y', values } as const)
      : ({
          kind: 'classification',
          name: 'y',
          classes: task === 'binary' ? ['0', '1'] : ['ant', 'bee', 'cat'],
          labels,
        } as const);
  return { features, target };
}

async function saved(model: FalajModel): Promise<string> {
  const dir = await tempDir();
  await saveModel(dir, model);
  return dir;
}

// Rows with missing numbers, a missing level and a level the model never saw.
const X1 = Float64Array.from([-1.5, 0.2, 1.9, Number.NaN, 0.7, -0.3]);
const X2 = Float64Array.from([3, Number.NaN, 9.5, 1, 0, 5]);
const COLOUR = ['green', 'red', null, 'blue', 'purple', 'green'];

/** The same rows as a frame the way a caller of the training library would build it. */
function frameOfRows(): Frame {
  const levels = ['blue', 'green', 'purple', 'red'];
  return {
    nRows: X1.length,
    columns: [
      { kind: 'numeric', name: 'x1', values: X1 },
      { kind: 'numeric', name: 'x2', values: X2 },
      {
        kind: 'categorical',
        name: 'colour',
        codes: Int32Array.from(COLOUR, (c) => (c === null ? -1 : levels.indexOf(c))),
        levels,
      },
    ],
  };
}

describe('native runtime', () => {
  it('serves a binary GBDT: probabilities equal the predictor, labels as numbers', async () => {
    const model = await trainGbdt(data('binary'), { nRounds: 20, nThreads: 1, seed: 1 });
    const dir = await saved(model);
    const served = await loadServingModel(dir, await digestsOf(dir), 'falaj');
    expect(served.runtime).toBe('falaj');
    expect(served.platform).toBe('falaj_gbdt');
    expect(served.task).toBe('classifier');
    expect(served.signature.inputs).toEqual([
      { name: 'x1', type: 'double', missing: true },
      { name: 'x2', type: 'double', missing: true },
      { name: 'colour', type: 'string', missing: true },
    ]);
    expect(served.signature.outputs).toEqual([
      { name: 'predict', type: 'int64', shape: [-1] },
      { name: 'predict_proba', type: 'double', shape: [-1, 2] },
    ]);
    const p = await served.predict(batchOf({ x1: X1, x2: X2, colour: COLOUR }));
    const expected = model.predict(frameOfRows());
    if (p.kind !== 'classifier') throw new Error('not a classifier');
    expect(p.classes).toEqual([0, 1]);
    expect(p.probabilities.flat()).toEqual(Array.from(expected));
    expect(p.labels).toEqual(p.probabilities.map((row) => ((row[1] as number) > (row[0] as number) ? 1 : 0)));
    await healthCheck(served);
    await served.release();
  });

  it('serves a multiclass GBDT with string classes; one-row requests too', async () => {
    const model = await trainGbdt(data('multiclass'), { nRounds: 10, nThreads: 1, seed: 2 });
    const dir = await saved(model);
    const served = await loadServingModel(dir, await digestsOf(dir), 'falaj');
    expect(served.signature.outputs[0]).toEqual({ name: 'predict', type: 'string', shape: [-1] });
    const p = await served.predict(batchOf({ x1: X1, x2: X2, colour: COLOUR }));
    if (p.kind !== 'classifier') throw new Error('not a classifier');
    const expected = model.predict(frameOfRows());
    expect(p.probabilities.flat()).toEqual(Array.from(expected));
    p.probabilities.forEach((row, i) => {
      expect(p.labels[i]).toBe(['ant', 'bee', 'cat'][row.indexOf(Math.max(...row))]);
    });
    for (let i = 0; i < X1.length; i++) {
      const one = await served.predict(
        batchOf({ x1: X1.subarray(i, i + 1), x2: X2.subarray(i, i + 1), colour: [COLOUR[i] ?? null] }),
      );
      if (one.kind !== 'classifier') throw new Error('not a classifier');
      expect(one.probabilities[0]).toEqual(p.probabilities[i]);
    }
    await healthCheck(served);
  });

  it('serves linear models (regression and logistic)', async () => {
    for (const task of ['regression', 'binary'] as const) {
      const model = trainLinearModel(data(task));
      const dir = await saved(model);
      const served = await loadServingModel(dir, await digestsOf(dir), 'falaj');
      expect(served.platform).toBe('falaj_linear');
      expect(served.signature.inputs.map((s) => s.type)).toEqual(['double', 'double', 'string']);
      const p = await served.predict(batchOf({ x1: X1, x2: X2, colour: COLOUR }));
      const expected = model.predict(frameOfRows());
      if (task === 'regression') {
        if (p.kind !== 'regressor') throw new Error('not a regressor');
        expect(served.signature.outputs).toEqual([{ name: 'predict', type: 'double', shape: [-1] }]);
        expect(Array.from(p.values)).toEqual(Array.from(expected));
      } else {
        if (p.kind !== 'classifier') throw new Error('not a classifier');
        expect(p.probabilities.flat()).toEqual(Array.from(expected));
      }
      await healthCheck(served);
    }
  });

  it('refuses files that do not match their digests, before loading anything', async () => {
    const model = await trainGbdt(data('regression', 200), { nRounds: 3, nThreads: 1 });
    const dir = await saved(model);
    const digests = await digestsOf(dir);
    // A wrong digest.
    const wrong = digests.map((f) => (f.name === 'model.json' ? { ...f, digest: 'ab'.repeat(32) } : f));
    await expect(loadServingModel(dir, wrong, 'falaj')).rejects.toMatchObject({
      code: 'FALAJ_MODEL_CHECKSUM',
    });
    // One flipped byte of arrays.bin.
    const file = path.join(dir, 'arrays.bin');
    const bytes = await readFile(file);
    bytes[3] = (bytes[3] as number) ^ 0xff;
    await writeFile(file, bytes);
    const err = await loadServingModel(dir, digests, 'falaj').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FalajError);
    expect(err).toMatchObject({ code: 'FALAJ_MODEL_CHECKSUM', details: { file: 'arrays.bin' } });
    // A file the runtime needs must have a digest.
    await expect(
      loadServingModel(
        dir,
        digests.filter((f) => f.name !== 'arrays.bin'),
        'falaj',
      ),
    ).rejects.toMatchObject({ code: 'FALAJ_MODEL_CHECKSUM' });
    // A name outside the directory.
    await expect(
      loadServingModel(dir, [...digests, { name: '../x', digest: 'ab'.repeat(32) }], 'falaj'),
    ).rejects.toMatchObject({ code: 'FALAJ_MODEL_CHECKSUM' });
  });
});

describe("Falaj's own ONNX export", () => {
  it("serves an exported model as format 'onnx' with the native model's signature", async () => {
    const model = await trainGbdt(data('multiclass'), { nRounds: 5, nThreads: 1, seed: 3 });
    const bytes = exportOnnx(model);
    const dir = await tempDir();
    await writeFile(path.join(dir, 'model.onnx'), bytes);
    const served = await loadServingModel(dir, await digestsOf(dir), 'onnx');
    expect(served.runtime).toBe('onnx');
    expect(served.signature.inputs.map((s) => [s.name, s.type])).toEqual([
      ['x1', 'double'],
      ['x2', 'double'],
      ['colour', 'string'],
    ]);
    const p = await served.predict(batchOf({ x1: X1, x2: X2, colour: COLOUR }));
    if (p.kind !== 'classifier') throw new Error('not a classifier');
    expect(p.probabilities.flat()).toEqual(Array.from(await onnxPredict(bytes, frameOfRows())));
    await healthCheck(served);
    await served.release();
    // A native directory with its model.onnx beside it is served natively.
    const native = await saved(model);
    await saveModel(native, model, { onnx: bytes });
    const nat = await loadServingModel(native, await digestsOf(native), 'falaj');
    expect(nat.runtime).toBe('falaj');
  });
});
