import { describe, expect, it } from 'vitest';
import { FalajError } from '../../src/core/errors.js';
import { computeDrift } from '../../src/statistics/drift-memory.js';
import { autoMethod } from '../../src/statistics/drift-rules.js';

/** n values cycling through `values`. */
const cycle = <T>(values: T[], n: number): T[] =>
  Array.from({ length: n }, (_, i) => values[i % values.length] as T);

describe("Evidently's automatic choice", () => {
  it('follows each branch of get_default_stattest', () => {
    expect(autoMethod('numeric', 1000, 6)).toBe('ks');
    expect(autoMethod('numeric', 1000, 5)).toBe('chisquare');
    expect(autoMethod('categorical', 10, 3)).toBe('chisquare');
    expect(autoMethod('categorical', 10, 2)).toBe('z');
    expect(autoMethod('numeric', 10, 2)).toBe('z');
    expect(autoMethod('numeric', 1001, 6)).toBe('wasserstein');
    expect(autoMethod('numeric', 1001, 5)).toBe('jensenshannon');
    expect(autoMethod('categorical', 5000, 50)).toBe('jensenshannon');
  });

  it('chooses per column on real data, counting distinct values over both sides', () => {
    const small = computeDrift(
      {
        x: cycle([1, 2, 3, 4, 5, 6, 7], 100),
        k: cycle([1, 2, 3], 100),
        c: cycle(['a', 'b'], 100),
        t: cycle(['a', 'b'], 100),
      },
      {
        x: cycle([1, 2, 3], 50),
        k: cycle([1, 2], 50),
        c: cycle(['a', 'b'], 50),
        t: cycle(['a', 'b', 'c'], 50),
      },
    );
    // t has two values in the reference but three over both: chi-squared, not the Z-test.
    expect(small.columns.map((c) => [c.column, c.method])).toEqual([
      ['x', 'ks'],
      ['k', 'chisquare'],
      ['c', 'z'],
      ['t', 'chisquare'],
    ]);
    const large = computeDrift(
      { x: cycle([1, 2, 3, 4, 5, 6], 1001), k: cycle([1, 2], 1001) },
      { x: [1, 2], k: [1, 2] },
    );
    expect(large.columns.map((c) => c.method)).toEqual(['wasserstein', 'jensenshannon']);
  });

  it('decides drift by p < threshold for tests and statistic ≥ threshold for distances', () => {
    const ref = { a: cycle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 200) };
    const same = computeDrift(ref, { a: cycle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 100) });
    expect(same.columns[0]).toMatchObject({
      method: 'ks',
      statistic: 0,
      pValue: 1,
      drifted: false,
      threshold: 0.05,
    });
    const shifted = computeDrift(ref, { a: cycle([5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 100) });
    expect(shifted.columns[0]?.drifted).toBe(true);
    expect(shifted.columns[0]?.pValue).toBeLessThan(0.05);
    // W₁ of a shift by exactly one σ, normalised by σ, is 1: at threshold 1 that is drift (≥).
    const w = computeDrift({ a: [0, 2] }, { a: [1, 3] }, { method: 'wasserstein', threshold: 1 });
    expect(w.columns[0]).toMatchObject({ statistic: 1, drifted: true });
  });

  it('takes per-column method and threshold overrides', () => {
    const r = computeDrift(
      { a: cycle([1, 2, 3, 4, 5, 6, 7, 8], 80), c: cycle(['x', 'y', 'z'], 90) },
      { a: cycle([1, 2, 3, 4, 5, 6, 7, 8], 80), c: cycle(['x', 'y'], 90) },
      { perColumn: { a: { method: 'psi', threshold: 0.2 }, c: { method: 'linf' } } },
    );
    expect(r.columns[0]).toMatchObject({ method: 'psi', threshold: 0.2, drifted: false });
    // c: (1/3, 1/3, 1/3) against (1/2, 1/2, 0): L∞ = 1/3.
    expect(r.columns[1]?.statistic).toBeCloseTo(1 / 3, 15);
    expect(r.columns[1]?.drifted).toBe(true);
  });

  it('refuses numeric-only tests on categories', () => {
    expect(() => computeDrift({ c: ['a', 'b'] }, { c: ['a'] }, { method: 'ks' })).toThrow(FalajError);
  });
});

describe('dataset drift', () => {
  const ref = {
    a: cycle(['x', 'y'], 100),
    b: cycle(['x', 'y'], 100),
    c: cycle(['x', 'y'], 100),
    d: cycle(['x', 'y'], 100),
  };
  const drifted = (k: number) => {
    const cur: Record<string, string[]> = {};
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries())
      cur[name] = i < k ? cycle(['x'], 100) : cycle(['x', 'y'], 100);
    return cur;
  };

  it('is declared when the drifted share reaches drift_share (default 0.5)', () => {
    expect(computeDrift(ref, drifted(2))).toMatchObject({
      numberOfDriftedColumns: 2,
      share: 0.5,
      datasetDrift: true,
    });
    expect(computeDrift(ref, drifted(1))).toMatchObject({
      numberOfDriftedColumns: 1,
      share: 0.25,
      datasetDrift: false,
    });
    expect(computeDrift(ref, drifted(1), { driftShare: 0.25 }).datasetDrift).toBe(true);
  });

  it('serialises to JSON without losing anything', () => {
    const r = computeDrift(ref, drifted(2));
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

describe('missing values and bad input', () => {
  it('leaves out null, NaN and infinities before testing', () => {
    const r = computeDrift({ a: [1, 2, null, Number.NaN, 3, Number.POSITIVE_INFINITY] }, { a: [1, 2, 3] });
    expect(r.columns[0]).toMatchObject({ referenceRows: 3, currentRows: 3, statistic: 0 });
  });

  it('rejects a reference with zero rows', () => {
    expect(() => computeDrift({ a: [] }, { a: [1] })).toThrow(/reference data has no rows/);
  });

  it('names a column missing from either side', () => {
    try {
      computeDrift({ a: [1], b: [2] }, { a: [1] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FalajError);
      expect((err as FalajError).code).toBe('FALAJ_DATA_INVALID');
      expect((err as FalajError).details).toEqual({ column: 'b', side: 'current' });
    }
  });

  it('names a column with no values left', () => {
    expect(() => computeDrift({ a: [null, null] }, { a: [1] })).toThrow(
      /column 'a' has no values in the reference/,
    );
  });

  it('names a numeric column holding text in the current data', () => {
    expect(() => computeDrift({ a: [1, 2] }, { a: [1, 'two'] })).toThrow(/column 'a' is numeric but row 1/);
  });

  it('rejects a drift share outside (0, 1]', () => {
    expect(() => computeDrift({ a: [1] }, { a: [1] }, { driftShare: 0 })).toThrow(/driftShare/);
  });
});

describe('binning for PSI', () => {
  it('uses Sturges bins over both sides for numbers with more than 20 reference values (Evidently)', () => {
    const ref = Array.from({ length: 100 }, (_, i) => i);
    const cur = Array.from({ length: 100 }, (_, i) => i + 50);
    const r = computeDrift({ a: ref }, { a: cur }, { method: 'psi' });
    // 200 values: log₂ 200 + 1 = 8.64 → 9 equal bins over [0, 149].
    expect(r.columns[0]?.detail).toEqual({ binning: 'evidently', bins: 9 });
  });

  it('uses category shares for numbers with at most 20 reference values', () => {
    const r = computeDrift({ a: cycle([1, 2], 10) }, { a: cycle([1, 1, 1, 2], 12) }, { method: 'psi' });
    // Shares (½, ½) against (¾, ¼): (½ − ¾)ln(⅔) + (½ − ¼)ln 2.
    expect(r.columns[0]?.statistic).toBeCloseTo(-0.25 * Math.log(2 / 3) + 0.25 * Math.LN2, 14);
    expect(r.columns[0]?.detail).toEqual({ binning: 'categories' });
  });

  it('offers 10 quantile bins of the reference, open at both ends', () => {
    const ref = Array.from({ length: 100 }, (_, i) => i);
    // Every current value is above the reference: all of it lands in the last (open) bin.
    const r = computeDrift({ a: ref }, { a: cycle([1000], 10) }, { method: 'psi', binning: 'quantile' });
    // Reference shares 0.1 each; current (0 × 9, 1): 9 empty bins filled with 0.0001.
    const expected = 9 * (0.1 - 0.0001) * Math.log(0.1 / 0.0001) + (0.1 - 1) * Math.log(0.1);
    expect(r.columns[0]?.statistic).toBeCloseTo(expected, 12);
  });
});
