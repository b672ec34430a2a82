// The boosting loop: early stopping, the per-round hook, seeded determinism, threads, accuracy.
import { describe, expect, it } from 'vitest';
import { takeData } from '../../../src/training/frame.js';
import { trainGbdt, trainGbdtSync } from '../../../src/training/gbdt/index.js';
import { Random } from '../../../src/training/random.js';
import { auc, binary, categorical, frame, nonlinear, numeric, positive } from './data.js';

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

/** Least-squares linear score on the numeric columns (normal equations), as a linear baseline. */
function linearScores(train: ReturnType<typeof nonlinear>, test: ReturnType<typeof nonlinear>): Float64Array {
  const cols = train.features.columns.map((c) => (c.kind === 'numeric' ? c.values : new Float64Array(0)));
  const d = cols.length + 1;
  const a = Array.from({ length: d }, () => new Float64Array(d + 1));
  const y = train.target.kind === 'classification' ? train.target.labels : new Int32Array(0);
  for (let i = 0; i < train.features.nRows; i++) {
    const x = [1, ...cols.map((c) => c[i] as number)];
    for (let r = 0; r < d; r++) {
      const row = a[r] as Float64Array;
      for (let c = 0; c < d; c++) row[c] = (row[c] as number) + (x[r] as number) * (x[c] as number);
      row[d] = (row[d] as number) + (x[r] as number) * (y[i] as number);
    }
  }
  for (let c = 0; c < d; c++) {
    const piv = a[c] as Float64Array;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const row = a[r] as Float64Array;
      const k = (row[c] as number) / (piv[c] as number);
      for (let j = c; j <= d; j++) row[j] = (row[j] as number) - k * (piv[j] as number);
    }
  }
  const beta = a.map((row, i) => (row[d] as number) / (row[i] as number));
  const tc = test.features.columns.map((c) => (c.kind === 'numeric' ? c.values : new Float64Array(0)));
  const out = new Float64Array(test.features.nRows);
  for (let i = 0; i < out.length; i++) {
    let s = beta[0] as number;
    tc.forEach((c, f) => {
      s += (beta[f + 1] as number) * (c[i] as number);
    });
    out[i] = s;
  }
  return out;
}

describe('gbdt training', () => {
  it('early stopping stops and keeps the best iteration', () => {
    // Pure-noise labels: validation loss is best after a few rounds and then rises.
    const rng = new Random(11);
    const n = 1200;
    const x = Array.from({ length: n }, () => rng.normal());
    const z = Array.from({ length: n }, () => rng.normal());
    const y = Array.from({ length: n }, (_, i) => ((x[i] as number) > 0.8 || rng.next() < 0.3 ? 1 : 0));
    const all = binary(frame(numeric('x', x), numeric('z', z)), y);
    const train = takeData(all, range(0, 800));
    const validation = takeData(all, range(800, n));
    const model = trainGbdtSync(train, {
      validation,
      earlyStoppingRounds: 5,
      nRounds: 500,
      learningRate: 0.5,
      minSamplesLeaf: 2,
    });
    const v = model.history.validLoss;
    const best = v.indexOf(Math.min(...v)) + 1;
    expect(v.length).toBeLessThan(500);
    expect(v.length).toBe(best + 5);
    expect(model.nRounds).toBe(best);
    expect(model.toState().trees.nodeOffset.length - 1).toBe(best);
    // The kept model's validation loss is the best recorded one.
    const p = model.predict(validation.features);
    const labels = validation.target.kind === 'classification' ? validation.target.labels : new Int32Array(0);
    let loss = 0;
    for (let i = 0; i < labels.length; i++) loss -= Math.log(p[2 * i + (labels[i] as number)] as number);
    expect(loss / labels.length).toBeCloseTo(v[best - 1] as number, 9);
  });

  it('onRound sees every round and may stop training', () => {
    const data = nonlinear(600, 3);
    const seen: number[] = [];
    const model = trainGbdtSync(data, {
      nRounds: 50,
      validation: nonlinear(300, 4),
      onRound: (round, info) => {
        seen.push(round);
        expect(Number.isFinite(info.trainLoss) && Number.isFinite(info.validLoss)).toBe(true);
        return round === 7 ? 'stop' : undefined;
      },
    });
    expect(seen).toEqual(range(1, 8));
    expect(model.nRounds).toBe(7);
    expect(model.history.trainLoss).toHaveLength(7);
  });

  it('the same seed and data give the identical state; another seed does not', () => {
    const data = nonlinear(3000, 5);
    const opts = { nRounds: 15, subsample: 0.7, colsample: 0.6, seed: 42 };
    const a = trainGbdtSync(data, opts).toState();
    const b = trainGbdtSync(data, opts).toState();
    expect(b).toEqual(a);
    const c = trainGbdtSync(data, { ...opts, seed: 43 }).toState();
    expect(c.trees.value).not.toEqual(a.trees.value);
  });

  it('one thread and two threads build identical models', async () => {
    // Enough rows and columns that nodes below the root also go to the worker.
    const n = 60_000;
    const base = nonlinear(n, 6);
    const rng = new Random(9);
    const codes = Array.from({ length: n }, () => rng.int(12) - 1);
    const levels = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const noise = Array.from({ length: 4 }, (_, f) =>
      numeric(
        `noise${f}`,
        Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : rng.normal())),
      ),
    );
    const data = {
      ...base,
      features: frame(...base.features.columns, categorical('cat', codes, levels), ...noise),
    };
    const opts = { nRounds: 8, subsample: 0.8, colsample: 0.8, seed: 1, parallelMinRows: 0 };
    const one = await trainGbdt(data, { ...opts, nThreads: 1 });
    const two = await trainGbdt(data, { ...opts, nThreads: 2 });
    expect(two.toState()).toEqual(one.toState());
  });

  it('learns a nonlinear problem far beyond a linear baseline', () => {
    const train = nonlinear(20_000, 7);
    const test = nonlinear(5_000, 8);
    const model = trainGbdtSync(train, { nRounds: 100 });
    const y = test.target.kind === 'classification' ? test.target.labels : new Int32Array(0);
    const gbdt = auc(positive(model.predict(test.features)), y);
    const linear = auc(linearScores(train, test), y);
    expect(linear).toBeLessThan(0.75);
    expect(gbdt).toBeGreaterThan(0.93);
  });
});
