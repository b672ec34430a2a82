import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFrame } from '../../src/training/load/index.js';
import { loadModel } from '../../src/training/model-file.js';
import { onnxPredict } from '../../src/training/onnx/index.js';
import { runTraining } from '../../src/training/run-training.js';
import { adultLikeCsv } from '../support/adult-like.js';

// The whole built-in training path as `falaj train` runs it: load a CSV, evaluate, tune, refit,
// write the model directory, read it back, and score it with onnxruntime.
const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-train-'));
const csv = path.join(dir, 'adult.csv');
writeFileSync(csv, adultLikeCsv(3000, 5));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runTraining', () => {
  it('cross-validates, writes byte-identical models for one seed, and onnxruntime agrees', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const req = { data: csv, target: 'income', cv: 3, seed: 7, params: { nRounds: 40 }, nThreads: 1 };
    const first = await runTraining({ ...req, out: a });
    await runTraining({ ...req, out: b });
    expect(first.task).toBe('binary');
    expect(first.validation).toMatchObject({ kind: 'cv', k: 3 });
    expect(Object.keys(first.metrics).slice(0, 3)).toEqual(['auc', 'logloss', 'accuracy']);
    // The signal is strong and non-linear: well above chance, below a perfect (leaky) score.
    expect(first.metrics.auc).toBeGreaterThan(0.85);
    expect(first.metrics.auc).toBeLessThan(0.99);
    // Out-of-fold predictions: one row per data row, probabilities summing to 1.
    const oof = readFileSync(path.join(a, 'oof.csv'), 'utf8').trim().split('\n');
    expect(oof[0]).toBe('row,p_<=50K,p_>50K');
    expect(oof).toHaveLength(3001);
    const [, p0, p1] = (oof[1] as string).split(',').map(Number);
    expect((p0 as number) + (p1 as number)).toBeCloseTo(1, 12);
    for (const f of ['model.json', 'arrays.bin', 'model.onnx', 'oof.csv'])
      expect(readFileSync(path.join(a, f)).equals(readFileSync(path.join(b, f))), f).toBe(true);

    const { model, manifest } = await loadModel(a);
    expect(manifest).toMatchObject({ kind: 'gbdt', task: 'binary', classes: ['<=50K', '>50K'] });
    const frame = await loadFrame(csv, { columns: model.featureNames });
    const native = model.predict(frame);
    const viaOnnx = await onnxPredict(readFileSync(path.join(a, 'model.onnx')), frame);
    let worst = 0;
    for (let i = 0; i < native.length; i++)
      worst = Math.max(worst, Math.abs((native[i] as number) - (viaOnnx[i] as number)));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('tunes with nested trials reported, and keeps early stopping’s rounds', async () => {
    const seen: string[] = [];
    const res = await runTraining(
      { data: csv, target: 'income', tune: 5, sampler: 'random', seed: 1, nThreads: 1 },
      { trialComplete: (t) => void seen.push(t.state) },
    );
    expect(res.tuning?.trials).toBe(5);
    expect(seen).toHaveLength(5);
    expect(res.params.nRounds).toBeTypeOf('number');
    expect(res.params).toMatchObject(res.tuning?.bestParams ?? {});
  });

  it('trains logistic and linear models and refuses the wrong target kind', async () => {
    const logistic = await runTraining({ data: csv, target: 'income', model: 'logistic' });
    expect(logistic.metrics.auc).toBeGreaterThan(0.8);
    const linear = await runTraining({
      data: csv,
      target: 'hours_per_week',
      model: 'linear',
      exclude: ['income'],
    });
    expect(Object.keys(linear.metrics).slice(0, 3)).toEqual(['rmse', 'mae', 'r2']);
    await expect(runTraining({ data: csv, target: 'income', model: 'linear' })).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
    });
  });

  it('names the column, and refuses damaged models and wrong column sets', async () => {
    await expect(runTraining({ data: csv, target: 'salary' })).rejects.toMatchObject({
      code: 'FALAJ_DATA_INVALID',
      message: expect.stringContaining('salary'),
    });
    const out = path.join(dir, 'damaged');
    await runTraining({ data: csv, target: 'income', params: { nRounds: 5 }, out });
    const bin = readFileSync(path.join(out, 'arrays.bin'));
    bin[10] = (bin[10] as number) ^ 0xff;
    writeFileSync(path.join(out, 'arrays.bin'), bin);
    await expect(loadModel(out)).rejects.toMatchObject({ code: 'FALAJ_MODEL_INVALID' });
    writeFileSync(path.join(out, 'model.json'), '{"format": "something-else"}');
    await expect(loadModel(out)).rejects.toMatchObject({ code: 'FALAJ_MODEL_INVALID' });

    const good = path.join(dir, 'good');
    await runTraining({ data: csv, target: 'income', params: { nRounds: 5 }, out: good });
    const { model } = await loadModel(good);
    const partial = path.join(dir, 'partial.csv');
    writeFileSync(partial, 'age,sex\n30,Male\n');
    await expect(loadFrame(partial, { columns: model.featureNames })).rejects.toMatchObject({
      message: expect.stringContaining('workclass'),
    });
  });
});
