// Metrics against hand-computed values and the examples in scikit-learn's documentation.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import {
  accuracy,
  averagePrecision,
  averagePrecisionOvr,
  brierScore,
  calibrationCurve,
  confusionMatrix,
  evaluate,
  logLoss,
  mae,
  mape,
  precisionRecallF1,
  r2,
  rmse,
  rocAuc,
  rocAucOvr,
  scalarMetrics,
} from '../../../src/training/metrics/index.js';
import { classTarget, regTarget } from '../linear/frames.js';

describe('ranking metrics', () => {
  it('ROC AUC: the scikit-learn example and a hand count with ties', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    // Pairs (positive, negative): 0.35 beats 0.1 → 1; 0.8 beats all → 3; 0.4 beats 0.1 and ties
    // two 0.4s → 1 + ½ + ½. Total 6 of 9.
    expect(rocAuc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])).toBeCloseTo(6 / 9, 12);
    // All scores tied is a coin toss; perfect and reversed rankings are 1 and 0.
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(rocAuc([0, 0, 1], [1, 2, 3])).toBe(1);
    expect(rocAuc([1, 0, 0], [1, 2, 3])).toBe(0);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('average precision: the scikit-learn example and a tie at the top', () => {
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 12);
    // Threshold 0.9 takes both tied rows: P = ½ at R = ½; threshold 0.5: P = ⅔ at R = 1.
    expect(averagePrecision([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1])).toBeCloseTo(0.5 * 0.5 + 0.5 * (2 / 3), 12);
    expect(averagePrecision([0, 0], [0.1, 0.2])).toBeNaN();
  });

  it('weights equal duplicated rows', () => {
    const y = [0, 1, 1, 0, 1, 0];
    const s = [0.2, 0.7, 0.2, 0.9, 0.5, 0.5];
    const w = [2, 1, 3, 1, 2, 1];
    const dupY: number[] = [];
    const dupS: number[] = [];
    w.forEach((k, i) => {
      for (let j = 0; j < k; j++) {
        dupY.push(y[i] as number);
        dupS.push(s[i] as number);
      }
    });
    expect(rocAuc(y, s, w)).toBeCloseTo(rocAuc(dupY, dupS), 12);
    expect(averagePrecision(y, s, w)).toBeCloseTo(averagePrecision(dupY, dupS), 12);
  });

  it('one-vs-rest macro averages the per-class values', () => {
    const labels = [0, 1, 2, 2, 1, 0];
    const probs = [0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.2, 0.7, 0.3, 0.3, 0.4, 0.3, 0.4, 0.3, 0.4, 0.4, 0.2];
    const col = (c: number) => labels.map((_, i) => probs[i * 3 + c] as number);
    const pos = (c: number) => labels.map((l) => (l === c ? 1 : 0));
    const expected = (rocAuc(pos(0), col(0)) + rocAuc(pos(1), col(1)) + rocAuc(pos(2), col(2))) / 3;
    expect(rocAucOvr(labels, probs, 3)).toBeCloseTo(expected, 12);
    const ap =
      (averagePrecision(pos(0), col(0)) +
        averagePrecision(pos(1), col(1)) +
        averagePrecision(pos(2), col(2))) /
      3;
    expect(averagePrecisionOvr(labels, probs, 3)).toBeCloseTo(ap, 12);
  });

  it('refuses NaN scores naming the row', () => {
    expect(() => rocAuc([0, 1], [0.1, Number.NaN])).toThrow(/row 2/);
  });
});

describe('label metrics', () => {
  it('confusion matrix (scikit-learn example)', () => {
    expect(confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3)).toEqual([
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
  });

  it('precision, recall, F1: macro and weighted (scikit-learn example)', () => {
    const t = [0, 1, 2, 0, 1, 2];
    const p = [0, 2, 1, 0, 0, 1];
    const macro = precisionRecallF1(t, p, 3, { average: 'macro' });
    expect(macro.precision).toBeCloseTo(2 / 9, 12);
    expect(macro.recall).toBeCloseTo(1 / 3, 12);
    expect(macro.f1).toBeCloseTo(0.8 / 3, 12);
    const weighted = precisionRecallF1(t, p, 3, { average: 'weighted' });
    expect(weighted.precision).toBeCloseTo(2 / 9, 12);
    expect(weighted.f1).toBeCloseTo(0.8 / 3, 12);
    expect(accuracy(t, p)).toBeCloseTo(2 / 6, 12);
  });

  it('binary scores the positive class; no predicted positives gives precision 0', () => {
    // tp = 2, fp = 1, fn = 1.
    const b = precisionRecallF1([1, 1, 1, 0, 0], [1, 1, 0, 1, 0], 2);
    expect(b.precision).toBeCloseTo(2 / 3, 12);
    expect(b.recall).toBeCloseTo(2 / 3, 12);
    expect(b.f1).toBeCloseTo(2 / 3, 12);
    expect(precisionRecallF1([1, 0], [0, 0], 2).precision).toBe(0);
    // Weighted support: class 1 rows weigh 3.
    expect(accuracy([1, 0], [1, 1], [3, 1])).toBeCloseTo(0.75, 12);
  });
});

describe('probability metrics', () => {
  it('log loss (scikit-learn example) and clipping of a zero probability', () => {
    // classes sorted: ham = 0, spam = 1; y = spam, ham, ham, spam.
    const probs = [0.1, 0.9, 0.9, 0.1, 0.8, 0.2, 0.35, 0.65];
    expect(logLoss([1, 0, 0, 1], probs, 2)).toBeCloseTo(0.21616187468057912, 12);
    expect(logLoss([0], [0, 1], 2)).toBeCloseTo(-Math.log(Number.EPSILON), 9);
  });

  it('Brier score: binary (scikit-learn example) and multiclass', () => {
    expect(brierScore([0, 1, 1, 0], [0.9, 0.1, 0.1, 0.9, 0.2, 0.8, 0.7, 0.3], 2)).toBeCloseTo(0.0375, 12);
    // (0.7−1)² + 0.2² + 0.1² = 0.14; 0.3² + (0.3−1)² + 0.4² = 0.74.
    expect(brierScore([0, 1], [0.7, 0.2, 0.1, 0.3, 0.3, 0.4], 3)).toBeCloseTo(0.44, 12);
  });

  it('calibration curve (scikit-learn example, three bins) and edge values', () => {
    const c = calibrationCurve([0, 0, 0, 0, 1, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1], 3);
    expect(c.fractionPositive).toEqual([0, 0.5, 1]);
    expect(c.meanPredicted[0]).toBeCloseTo(0.2, 12);
    expect(c.meanPredicted[1]).toBeCloseTo(0.525, 12);
    expect(c.meanPredicted[2]).toBeCloseTo(0.85, 12);
    expect(c.counts).toEqual([3, 2, 4]);
    // 0.5 sits on the inner edge of two bins and belongs to the lower one; bin 1 of 4 is empty.
    const e = calibrationCurve([0, 1, 1], [0, 0.5, 1], 2);
    expect(e.counts).toEqual([2, 1]);
    expect(calibrationCurve([0, 1], [0.1, 0.9], 4).bins).toEqual([0, 3]);
    expect(() => calibrationCurve([1], [1.5])).toThrow(FalajError);
  });
});

describe('regression metrics (scikit-learn examples)', () => {
  const t = [3, -0.5, 2, 7];
  const p = [2.5, 0, 2, 8];
  it('RMSE, MAE, R², MAPE', () => {
    expect(rmse(t, p)).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(mae(t, p)).toBeCloseTo(0.5, 12);
    expect(r2(t, p)).toBeCloseTo(0.9486081370449679, 12);
    expect(mape(t, p)).toBeCloseTo(0.3273809523809524, 12);
  });
  it('zero targets in MAPE divide by the machine epsilon; a constant target has R² 1 or 0', () => {
    expect(mape([0], [1])).toBe(1 / Number.EPSILON);
    expect(r2([2, 2], [2, 2])).toBe(1);
    expect(r2([2, 2], [2, 3])).toBe(0);
  });
  it('weights equal duplicated rows', () => {
    expect(r2(t, p, [1, 2, 1, 3])).toBeCloseTo(r2([3, -0.5, -0.5, 2, 7, 7, 7], [2.5, 0, 0, 2, 8, 8, 8]), 12);
    expect(mape(t, p, [1, 2, 1, 3])).toBeCloseTo(
      mape([3, -0.5, -0.5, 2, 7, 7, 7], [2.5, 0, 0, 2, 8, 8, 8]),
      12,
    );
  });
});

describe('evaluate', () => {
  it('binary: the standard set, each equal to its own function', () => {
    const target = classTarget(['no', 'no', 'yes', 'yes']);
    const probs = Float64Array.from([0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8]);
    const m = evaluate('binary', target, probs);
    expect(m).toMatchObject({
      auc: 0.75,
      accuracy: 0.75,
      precision: 1,
      recall: 0.5,
      confusion: [
        [2, 0],
        [1, 1],
      ],
    });
    if (!('auc' in m)) throw new Error('classification metrics expected');
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(m.prAuc).toBeCloseTo(5 / 6, 12);
    expect(m.logloss).toBeCloseTo(logLoss([0, 0, 1, 1], probs, 2), 15);
    // p₁ = 0.1, 0.4, 0.35, 0.8 fall in bins 0, 3, 3, 7 (0.1 and 0.4 sit on edges: lower bin).
    expect(m.calibration.bins).toEqual([0, 3, 7]);
    expect(m.calibration.counts).toEqual([1, 2, 1]);
    expect(Object.keys(scalarMetrics(m)).sort()).toEqual(
      ['accuracy', 'auc', 'brier', 'f1', 'logloss', 'prAuc', 'precision', 'recall'].sort(),
    );
  });

  it('multiclass adds weighted averages; regression gives rmse, mae, r2, mape', () => {
    const m = evaluate(
      'multiclass',
      classTarget(['a', 'b', 'c']),
      Float64Array.from([0.8, 0.1, 0.1, 0.2, 0.5, 0.3, 0.3, 0.3, 0.4]),
    );
    expect(m).toMatchObject({ accuracy: 1, auc: 1, f1Weighted: 1 });
    const r = evaluate('regression', regTarget([3, -0.5, 2, 7]), Float64Array.from([2.5, 0, 2, 8]));
    expect(Object.keys(r).sort()).toEqual(['mae', 'mape', 'r2', 'rmse']);
  });

  it('refuses a wrong prediction shape or a task that does not fit the target', () => {
    expect(() => evaluate('binary', classTarget(['a', 'b']), Float64Array.from([1, 0]))).toThrow(
      /2 predictions for 2 rows/,
    );
    expect(() => evaluate('multiclass', classTarget(['a', 'b']), Float64Array.from([1, 0, 0, 1]))).toThrow(
      FalajError,
    );
    expect(() => evaluate('regression', regTarget([1]), Float64Array.from([Number.NaN]))).toThrow(/row 1/);
  });
});
