// Splits partition rows as promised, and cross-validation reports hand-checkable numbers.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import type { Predictor } from '../../../src/training/estimator.js';
import type { Frame, TrainingData } from '../../../src/training/frame.js';
import { trainLogisticRegression } from '../../../src/training/linear/index.js';
import { Random } from '../../../src/training/random.js';
import {
  crossValidate,
  defaultFolds,
  groupKFold,
  holdoutSplit,
  kFold,
  type Split,
  stratifiedKFold,
  timeSeriesSplit,
} from '../../../src/training/validation/index.js';
import { cat, classTarget, frame, num, regTarget } from '../linear/frames.js';

/** Validation parts are disjoint and cover all rows; each train part is the complement. */
function expectPartition(folds: Split[], n: number): void {
  const seen = new Int32Array(n);
  for (const f of folds) {
    for (const r of f.valid) seen[r] = (seen[r] as number) + 1;
    const all = [...f.train, ...f.valid].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
    expect([...f.train]).toEqual([...f.train].sort((a, b) => a - b));
  }
  expect([...seen].every((c) => c === 1)).toBe(true);
}

describe('k-fold splits', () => {
  it('plain k-fold partitions the rows with sizes differing by at most one', () => {
    const folds = kFold({ nRows: 23, k: 5, seed: 1 });
    expectPartition(folds, 23);
    expect(folds.map((f) => f.valid.length)).toEqual([5, 5, 5, 4, 4]);
    expect(kFold({ nRows: 23, k: 5, seed: 1 })).toEqual(folds);
    expect(kFold({ nRows: 23, k: 5, seed: 2 })).not.toEqual(folds);
    expect([...(kFold({ nRows: 6, k: 3, seed: 0, shuffle: false })[0]?.valid ?? [])]).toEqual([0, 1]);
  });

  it('stratified k-fold keeps every class within one row of its share per fold', () => {
    const r = new Random(4);
    const labels = Int32Array.from({ length: 103 }, () => (r.next() < 0.15 ? 0 : r.next() < 0.5 ? 1 : 2));
    const k = 5;
    const folds = stratifiedKFold({ labels, k, seed: 9 });
    expectPartition(folds, labels.length);
    for (let c = 0; c < 3; c++) {
      const total = labels.filter((l) => l === c).length;
      for (const f of folds) {
        const inFold = [...f.valid].filter((i) => labels[i] === c).length;
        expect(inFold).toBeGreaterThanOrEqual(Math.floor(total / k));
        expect(inFold).toBeLessThanOrEqual(Math.ceil(total / k));
      }
    }
    const sizes = folds.map((f) => f.valid.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('refuses impossible k', () => {
    expect(() => kFold({ nRows: 3, k: 4, seed: 0 })).toThrow(/4 folds of 3 rows/);
    expect(() => kFold({ nRows: 3, k: 1, seed: 0 })).toThrow(FalajError);
  });
});

describe('hold-out', () => {
  it('takes round(f·n) rows, stratified per class by largest remainder', () => {
    // 10 rows of class 0, 30 of class 1: a 25 % hold-out takes 2.5 → 3 and 7.5 → 7, or the
    // reverse; the total is exactly 10.
    const labels = Int32Array.from({ length: 40 }, (_, i) => (i < 10 ? 0 : 1));
    const s = holdoutSplit({ nRows: 40, validFraction: 0.25, seed: 3, stratify: labels });
    expect([...s.train, ...s.valid].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(s.valid.length).toBe(10);
    const zeros = [...s.valid].filter((i) => labels[i] === 0).length;
    expect([2, 3]).toContain(zeros);
    expect(holdoutSplit({ nRows: 40, validFraction: 0.25, seed: 3, stratify: labels })).toEqual(s);
    expect(holdoutSplit({ nRows: 7, validFraction: 0.3, seed: 3 }).valid.length).toBe(2);
    expect(() => holdoutSplit({ nRows: 7, validFraction: 1, seed: 3 })).toThrow(/validFraction/);
  });
});

describe('group k-fold', () => {
  it('never puts a group on both sides and balances fold sizes', () => {
    const r = new Random(5);
    const groups = Array.from({ length: 200 }, () => `user${r.int(37)}`);
    const folds = groupKFold({ groups: cat('user', groups), k: 4 });
    expectPartition(folds, 200);
    for (const f of folds) {
      const validGroups = new Set([...f.valid].map((i) => groups[i]));
      for (const i of f.train) expect(validGroups.has(groups[i])).toBe(false);
    }
    const sizes = folds.map((f) => f.valid.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(20);
  });

  it('assigns largest groups first to the lightest fold (hand-checked)', () => {
    // Group sizes a:4, b:3, c:2, d:1 → a→0, b→1, c→1 (3 < 4), d→0 or 1? fold sizes 4 and 5 → 0.
    const g = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'd'];
    const folds = groupKFold({ groups: g, k: 2 });
    expect([...(folds[0]?.valid ?? [])]).toEqual([0, 1, 2, 3, 9]);
    expect([...(folds[1]?.valid ?? [])]).toEqual([4, 5, 6, 7, 8]);
    expect(() => groupKFold({ groups: ['a', 'a', 'b'], k: 3 })).toThrow(/2 groups/);
    expect(() => groupKFold({ groups: num('g', [1, Number.NaN, 2]), k: 2 })).toThrow(
      /'g' is missing at row 2/,
    );
  });
});

describe('time-ordered splits', () => {
  it('matches TimeSeriesSplit on row order (n = 6, k = 5)', () => {
    const folds = timeSeriesSplit({ nRows: 6, k: 5 });
    expect(folds.map((f) => [[...f.train], [...f.valid]])).toEqual([
      [[0], [1]],
      [[0, 1], [2]],
      [[0, 1, 2], [3]],
      [[0, 1, 2, 3], [4]],
      [[0, 1, 2, 3, 4], [5]],
    ]);
    // Blocks of ⌊6/3⌋ = 2 start at rows 2 and 4; a gap of 1 drops the row before each.
    expect(timeSeriesSplit({ nRows: 6, k: 2, gap: 1 }).map((f) => [...f.train])).toEqual([[0], [0, 1, 2]]);
  });

  it('never trains on the future, even with shuffled rows and tied times', () => {
    const r = new Random(8);
    const t = Array.from({ length: 120 }, () => r.int(40));
    const folds = timeSeriesSplit({ nRows: 120, k: 4, order: num('t', t) });
    let lastValidMax = -1;
    for (const f of folds) {
      const trainMax = Math.max(...[...f.train].map((i) => t[i] as number));
      const validMin = Math.min(...[...f.valid].map((i) => t[i] as number));
      expect(trainMax).toBeLessThan(validMin);
      expect(validMin).toBeGreaterThan(lastValidMax);
      lastValidMax = Math.max(...[...f.valid].map((i) => t[i] as number));
    }
    expect(() => timeSeriesSplit({ nRows: 3, k: 2, order: [1, Number.NaN, 2] })).toThrow(/row 2/);
    expect(() => timeSeriesSplit({ nRows: 6, k: 2, order: [1, 1, 1, 1, 1, 1] })).toThrow(/too few distinct/);
  });
});

/** A fixed model: predicts the value of column x (regression). */
function echoModel(): Predictor {
  return {
    task: 'regression',
    classes: [],
    featureNames: ['x'],
    predict(f: Frame) {
      const c = f.columns[0];
      if (c?.kind !== 'numeric') throw new Error('numeric x expected');
      return Float64Array.from(c.values);
    },
  };
}

describe('crossValidate', () => {
  it('reports per-fold metrics, their mean and sample std, and out-of-fold predictions', async () => {
    const data: TrainingData = { features: frame(num('x', [1, 3, 3, 7])), target: regTarget([1, 2, 3, 4]) };
    const folds: Split[] = [
      { train: Int32Array.from([2, 3]), valid: Int32Array.from([0, 1]) },
      { train: Int32Array.from([0, 1]), valid: Int32Array.from([2, 3]) },
    ];
    const seen: number[] = [];
    const res = await crossValidate({
      data,
      folds,
      fit: () => echoModel(),
      onFold: (f) => void seen.push(f.fold),
    });
    // Fold errors (0, 1) and (0, 3): MAE 0.5 and 1.5 → mean 1, std √((0.25 + 0.25)/1).
    expect(res.folds.map((f) => f.metrics)).toMatchObject([{ mae: 0.5 }, { mae: 1.5 }]);
    expect(res.mean.mae).toBeCloseTo(1, 12);
    expect(res.std.mae).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(res.mean.rmse).toBeCloseTo((Math.sqrt(0.5) + Math.sqrt(4.5)) / 2, 12);
    expect([...res.oof]).toEqual([1, 3, 3, 7]);
    expect(res.pooled).toMatchObject({ mae: 1 });
    expect(seen).toEqual([0, 1]);
  });

  it('a fixed classifier: accuracy per fold by hand; classes missing from a fold model get 0', async () => {
    const data: TrainingData = {
      features: frame(num('s', [0.9, 0.2, 0.6, 0.4, 0.1, 0.8])),
      target: classTarget(['b', 'a', 'a', 'a', 'b', 'b']),
    };
    // Model knows only ['a', 'b'] in that order and says p(b) = s.
    const fixed: Predictor = {
      task: 'binary',
      classes: ['b', 'a'],
      featureNames: ['s'],
      predict(f) {
        const c = f.columns[0];
        if (c?.kind !== 'numeric') throw new Error('numeric s expected');
        return Float64Array.from([...c.values].flatMap((v) => [v, 1 - v]));
      },
    };
    const folds: Split[] = [
      { train: Int32Array.from([3, 4, 5]), valid: Int32Array.from([0, 1, 2]) },
      { train: Int32Array.from([0, 1, 2]), valid: Int32Array.from([3, 4, 5]) },
    ];
    const res = await crossValidate({ data, folds, fit: () => fixed });
    // Fold 1: b@0.9 ✓, a@0.2 ✓, a@0.6 ✗ → 2/3. Fold 2: a@0.4 ✓, b@0.1 ✗, b@0.8 ✓ → 2/3.
    expect(res.folds.map((f) => (f.metrics as { accuracy: number }).accuracy)).toEqual([2 / 3, 2 / 3]);
    expect(res.std.accuracy).toBe(0);
    // OOF columns follow the target's class order ['a', 'b'].
    expect([...res.oof.subarray(0, 2)].map((v) => Number(v.toFixed(12)))).toEqual([0.1, 0.9]);
  });

  it('runs a real model over default folds and refuses overlapping validation parts', async () => {
    const r = new Random(11);
    const n = 120;
    const a = Array.from({ length: n }, () => r.normal());
    const y = a.map((v) => (v + 0.5 * r.normal() > 0 ? 'pos' : 'neg'));
    const data: TrainingData = { features: frame(num('a', a)), target: classTarget(y) };
    const res = await crossValidate({
      data,
      folds: defaultFolds(data, 4, 1),
      fit: (train) => trainLogisticRegression(train),
    });
    expect(res.folds).toHaveLength(4);
    expect(res.mean.auc).toBeGreaterThan(0.85);
    expect([...res.oof].every((v) => Number.isFinite(v))).toBe(true);
    const overlap: Split[] = [
      { train: Int32Array.from([1]), valid: Int32Array.from([0]) },
      { train: Int32Array.from([1]), valid: Int32Array.from([0]) },
    ];
    await expect(
      crossValidate({ data, folds: overlap, fit: (t) => trainLogisticRegression(t) }),
    ).rejects.toThrow(/row 1 is validated in both fold 1 and fold 2/);
  });
});
