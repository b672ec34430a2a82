// Properties of every objective: training loss never rises with rounds, the recorded loss is
// the loss of the model's own predictions, probabilities sum to one.
import { describe, expect, it } from 'vitest';
import type { TrainingData } from '../../../src/training/frame.js';
import { type GbdtObjective, trainGbdtSync } from '../../../src/training/gbdt/index.js';
import { Random } from '../../../src/training/random.js';
import { frame, nonlinear, nonlinearRegression, numeric } from './data.js';

function multiclass(n: number, seed: number): TrainingData {
  const rng = new Random(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.normal();
    b[i] = rng.normal();
    const s = (a[i] as number) + 0.5 * rng.normal();
    labels[i] = s < -0.5 ? 0 : s < 0.5 ? ((b[i] as number) > 0 ? 1 : 2) : 3;
  }
  return {
    features: frame(numeric('a', a), numeric('b', b)),
    target: { kind: 'classification', name: 'y', classes: ['w', 'x', 'y', 'z'], labels },
  };
}

/** The objective's loss recomputed from predict() output. */
function lossFromPredictions(objective: GbdtObjective, data: TrainingData, p: Float64Array): number {
  const t = data.target;
  const n = data.features.nRows;
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (t.kind === 'classification') {
      const k = t.classes.length;
      s -= Math.log(p[i * k + (t.labels[i] as number)] as number);
    } else {
      const r = (p[i] as number) - (t.values[i] as number);
      const a = Math.abs(r);
      s +=
        objective === 'squared_error'
          ? r * r
          : objective === 'absolute_error'
            ? a
            : a <= 1
              ? 0.5 * r * r
              : a - 0.5;
    }
  }
  return s / n;
}

const cases: [GbdtObjective, () => TrainingData][] = [
  ['binary', () => nonlinear(2000, 1)],
  ['multiclass', () => multiclass(2000, 2)],
  ['squared_error', () => nonlinearRegression(2000, 3)],
  ['absolute_error', () => nonlinearRegression(2000, 4)],
  ['huber', () => nonlinearRegression(2000, 5)],
];

describe('gbdt objectives', () => {
  for (const [objective, make] of cases) {
    it(`${objective}: more rounds never raise the training loss, and the history matches predict()`, () => {
      const data = make();
      const model = trainGbdtSync(data, { objective, nRounds: 40, subsample: 0.8, colsample: 0.7, seed: 3 });
      const h = model.history.trainLoss;
      expect(h).toHaveLength(40);
      for (let r = 1; r < h.length; r++)
        expect(h[r] as number).toBeLessThanOrEqual((h[r - 1] as number) + 1e-12);
      expect(h[39] as number).toBeLessThan((h[0] as number) * 0.9);
      // The loss recorded in training (bins) equals the loss of the raw-value predictor.
      expect(lossFromPredictions(objective, data, model.predict(data.features))).toBeCloseTo(
        h[39] as number,
        9,
      );
    });
  }

  it('multiclass probabilities sum to one and pick the right class mostly', () => {
    const data = multiclass(3000, 7);
    const model = trainGbdtSync(data, { nRounds: 30 });
    expect(model.task).toBe('multiclass');
    expect(model.toState().trees.nodeOffset.length - 1).toBe(30 * 4);
    const p = model.predict(data.features);
    expect(p.length).toBe(3000 * 4);
    let correct = 0;
    for (let i = 0; i < 3000; i++) {
      let s = 0;
      let best = 0;
      for (let k = 0; k < 4; k++) {
        s += p[i * 4 + k] as number;
        if ((p[i * 4 + k] as number) > (p[i * 4 + best] as number)) best = k;
      }
      expect(s).toBeCloseTo(1, 12);
      if (best === (data.target.kind === 'classification' ? data.target.labels[i] : -1)) correct++;
    }
    expect(correct / 3000).toBeGreaterThan(0.7);
  });

  it('absolute error leaves are shrunk residual medians', () => {
    // One leaf (no split possible with minSamplesLeaf 3 on 5 rows): init = median 3,
    // residuals [-2,-1,0,7,97] → median 0 → leaf 0; then nothing moves.
    const data = {
      features: frame(numeric('x', [1, 1, 1, 1, 1])),
      target: { kind: 'regression' as const, name: 'y', values: Float64Array.of(1, 2, 3, 10, 100) },
    };
    const s = trainGbdtSync(data, { objective: 'absolute_error', nRounds: 1, minSamplesLeaf: 3 }).toState();
    expect(s.baseScore).toEqual([3]);
    expect(Array.from(s.trees.value)).toEqual([0]);
  });
});
