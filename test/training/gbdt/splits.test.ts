// What a split learns: the missing direction, the categorical subset, weights as duplicates.
import { describe, expect, it } from 'vitest';
import { trainGbdtSync } from '../../../src/training/gbdt/index.js';
import { binary, categorical, frame, numeric, regression } from './data.js';

describe('gbdt splits', () => {
  it('sends missing values the way the rows that have them behave', () => {
    // Low x → 0, high x → 1, missing → 1: missing must go right (with the high values).
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 60; i++) {
      x.push(i < 20 ? i : i < 40 ? 100 + i : Number.NaN);
      y.push(i < 20 ? 0 : 1);
    }
    const stump = { nRounds: 1, maxLeaves: 2, minSamplesLeaf: 5 };
    const right = trainGbdtSync(binary(frame(numeric('x', x)), y), stump).toState();
    expect(right.trees.feature[0]).toBe(0);
    expect(right.trees.threshold[0]).toBe(19);
    expect(right.trees.missingLeft[0]).toBe(0);
    // Missing behaving like low values: missing goes left.
    const y2 = x.map((v) => (v > 50 ? 1 : 0));
    const model = trainGbdtSync(binary(frame(numeric('x', x)), y2), stump);
    const left = model.toState();
    expect(left.trees.threshold[0]).toBe(19);
    expect(left.trees.missingLeft[0]).toBe(1);
    const p = model.predict(frame(numeric('x', [Number.NaN, 0, 1000])));
    expect(p[1]).toBeCloseTo(p[3] as number, 14);
    expect(p[1] as number).toBeLessThan(p[5] as number);
  });

  it('splits missing from present values when that is the signal', () => {
    const x = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? Number.NaN : i));
    const y = x.map((v) => (Number.isNaN(v) ? 5 : 1));
    const s = trainGbdtSync(regression(frame(numeric('x', x)), y), {
      nRounds: 1,
      maxLeaves: 2,
      minSamplesLeaf: 5,
    }).toState();
    expect(s.trees.threshold[0]).toBe(Number.POSITIVE_INFINITY);
    expect(s.trees.missingLeft[0]).toBe(0);
  });

  it('finds the category subset that separates the classes', () => {
    // Levels a..f (plus 'never', with no rows); b, d, e are positive.
    const levels = ['a', 'b', 'c', 'never', 'd', 'e', 'f'];
    const positive = new Set(['b', 'd', 'e']);
    const codes: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 210; i++) {
      const code = [0, 1, 2, 4, 5, 6][i % 6] as number;
      codes.push(code);
      y.push(positive.has(levels[code] as string) ? 1 : 0);
    }
    const model = trainGbdtSync(binary(frame(categorical('c', codes, levels)), y), {
      nRounds: 1,
      maxLeaves: 2,
      minSamplesLeaf: 5,
    });
    const s = model.toState();
    const f = s.features[0];
    expect(f?.kind === 'categorical' && f.categories).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const set = Array.from(
      s.trees.categories.subarray(
        s.trees.catStart[0],
        (s.trees.catStart[0] as number) + (s.trees.catCount[0] as number),
      ),
    );
    // Positive categories have the most negative gradients, so they lead the ratio order.
    expect(set).toEqual([1, 3, 4]);
    const p = model.predict(frame(categorical('c', [0, 1, 3, 4, 5, 6], levels)));
    expect(p[3] as number).toBeGreaterThan(0.5);
    expect(p[1] as number).toBeLessThan(0.5);
    // Levels unknown to the model (and code -1) are missing: they follow the missing direction.
    const unseen = model.predict(frame(categorical('c', [0, -1], ['zzz'])));
    const missingSide = s.trees.missingLeft[0] === 1 ? 1 : 2;
    const expected = model.toState().trees.value[missingSide] as number;
    const p1 = 1 / (1 + Math.exp(-((s.baseScore[0] as number) + expected)));
    expect(unseen[1]).toBeCloseTo(p1, 12);
    expect(unseen[3]).toBeCloseTo(p1, 12);
  });

  it('rare levels beyond maxBins share one "other" bin', () => {
    const levels = Array.from({ length: 10 }, (_, i) => `l${i}`);
    const codes: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 400; i++) {
      // Levels 0..2 frequent, 3..9 rare; rare levels and level 1 are positive.
      const code = i < 360 ? i % 3 : 3 + (i % 7);
      codes.push(code);
      y.push(code === 1 || code >= 3 ? 1 : 0);
    }
    const model = trainGbdtSync(binary(frame(categorical('c', codes, levels)), y), {
      nRounds: 1,
      maxLeaves: 2,
      minSamplesLeaf: 5,
      maxBins: 4,
    });
    const t = model.toState().trees;
    const set = Array.from(
      t.categories.subarray(t.catStart[0], (t.catStart[0] as number) + (t.catCount[0] as number)),
    );
    expect(set).toEqual([1, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a weight of w equals w copies of the row', () => {
    const x: number[] = [];
    const y: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < 300; i++) {
      // Fewer distinct values than bins, so both sides bin identically.
      x.push(Math.round(Math.sin(i * 1.7) * 20) / 2);
      y.push(Math.cos(i) > 0.3 ? 1 : 0);
      w.push(1 + (i % 3));
    }
    const dx: number[] = [];
    const dy: number[] = [];
    x.forEach((v, i) => {
      for (let k = 0; k < (w[i] as number); k++) {
        dx.push(v);
        dy.push(y[i] as number);
      }
    });
    // Row-count limits would differ between the two (copies count as rows): use hessian limits.
    const opts = { nRounds: 10, minSamplesLeaf: 1, minChildWeight: 1, maxLeaves: 8 };
    for (const make of [binary, regression]) {
      const weighted = trainGbdtSync(make(frame(numeric('x', x)), y, w), opts);
      const copied = trainGbdtSync(make(frame(numeric('x', dx)), dy), opts);
      const probe = frame(numeric('x', [-9, -3, 0, 2, 5, 9.5]));
      const a = weighted.predict(probe);
      const b = copied.predict(probe);
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i] as number, 9);
      expect(Array.from(weighted.toState().trees.feature)).toEqual(
        Array.from(copied.toState().trees.feature),
      );
    }
  });
});
