import { describe, expect, it } from 'vitest';
import { FalajError } from '../../src/core/errors.js';
import { computeFairness } from '../../src/statistics/fairness-memory.js';

/** Rows for one group from its confusion counts. */
function rows(group: string, tp: number, fp: number, tn: number, fn: number) {
  const out: { y: number; p: number; g: string }[] = [];
  const add = (k: number, y: number, p: number) => {
    for (let i = 0; i < k; i++) out.push({ y, p, g: group });
  };
  add(tp, 1, 1);
  add(fp, 0, 1);
  add(tn, 0, 0);
  add(fn, 1, 0);
  return out;
}

function table(all: { y: number; p: number; g: string }[]) {
  return { y: all.map((r) => r.y), p: all.map((r) => r.p), g: all.map((r) => r.g) };
}

// A: TP 8, FP 2, TN 6, FN 4 → selection 10/20 = .5, TPR 8/12, FPR 2/8, precision 8/10.
// B: TP 3, FP 1, TN 12, FN 4 → selection 4/20 = .2, TPR 3/7, FPR 1/13, precision 3/4.
const data = [...rows('A', 8, 2, 6, 4), ...rows('B', 3, 1, 12, 4)];
const cols = { label: 'y', prediction: 'p', sensitive: ['g'] };

describe('fairness on a hand-built confusion table', () => {
  const r = computeFairness(table(data), cols, { minGroupSize: 20 });

  it('computes per-group rates', () => {
    const [a, b] = r.groups;
    expect(a).toMatchObject({
      name: 'g=A',
      count: 20,
      selectionRate: 0.5,
      falsePositiveRate: 0.25,
      precision: 0.8,
      small: false,
    });
    expect(a?.truePositiveRate).toBeCloseTo(8 / 12, 15);
    expect(b).toMatchObject({ name: 'g=B', count: 20, selectionRate: 0.2, precision: 0.75 });
    expect(b?.truePositiveRate).toBeCloseTo(3 / 7, 15);
    expect(b?.falsePositiveRate).toBeCloseTo(1 / 13, 15);
  });

  it("computes Fairlearn's between-group differences and ratios", () => {
    expect(r.fairlearn.demographicParityDifference).toBeCloseTo(0.3, 15);
    expect(r.fairlearn.demographicParityRatio).toBeCloseTo(0.4, 15);
    // TPR: 8/12 − 3/7 = 0.238095; FPR: 1/4 − 1/13 = 0.173077 → the larger.
    expect(r.fairlearn.equalizedOddsDifference).toBeCloseTo(8 / 12 - 3 / 7, 15);
    expect(r.fairlearn.equalOpportunityDifference).toBeCloseTo(8 / 12 - 3 / 7, 15);
    // Ratios: TPR (3/7)/(2/3) = 0.642857; FPR (1/13)/(1/4) = 0.307692 → the smaller.
    expect(r.fairlearn.equalizedOddsRatio).toBeCloseTo(4 / 13, 15);
  });

  it("computes AIF360's measures against the privileged group (highest selection rate: A)", () => {
    expect(r.aif360).toMatchObject({
      privilegedGroup: 'g=A',
      privilegedGroupChosenBy: 'highest-selection-rate',
    });
    expect(r.aif360.disparateImpact).toBeCloseTo(0.4, 15);
    expect(r.aif360.statisticalParityDifference).toBeCloseTo(-0.3, 15);
    expect(r.aif360.equalOpportunityDifference).toBeCloseTo(3 / 7 - 8 / 12, 15);
    // ½[(1/13 − 1/4) + (3/7 − 2/3)] = −0.205586.
    expect(r.aif360.averageOddsDifference).toBeCloseTo(0.5 * (1 / 13 - 1 / 4 + (3 / 7 - 2 / 3)), 15);
    expect(r.aif360.averageOddsDifference).toBeCloseTo(-0.205586, 6);
  });

  it('computes the Theil index by its formula over bᵢ = ŷᵢ − yᵢ + 1', () => {
    const b = data.map((x) => x.p - x.y + 1);
    const mu = b.reduce((s, v) => s + v, 0) / b.length; // (29·1 + 3·2 + 8·0)/40 = 0.875
    expect(mu).toBe(0.875);
    const theil = b.reduce((s, v) => s + (v === 0 ? 0 : (v / mu) * Math.log(v / mu)), 0) / b.length;
    expect(r.aif360.theilIndex).toBeCloseTo(theil, 15);
    expect(r.aif360.theilIndex).toBeCloseTo(0.25236, 5);
    // Between groups: μ_A = (14 + 4)/20 = 0.9, μ_B = (15 + 2)/20 = 0.85.
    const between = (20 * (0.9 / mu) * Math.log(0.9 / mu) + 20 * (0.85 / mu) * Math.log(0.85 / mu)) / 40;
    expect(r.aif360.betweenGroupTheilIndex).toBeCloseTo(between, 15);
  });

  it('applies the four-fifths rule against the highest selection rate', () => {
    expect(r.fourFifthsRule).toEqual({ passed: false, highestSelectionRate: 0.5, failingGroups: ['g=B'] });
    expect(r.groups[1]?.impactRatio).toBeCloseTo(0.4, 15);
  });

  it('uses a privileged group given by the caller', () => {
    const s = computeFairness(table(data), cols, { privilegedGroup: { g: 'B' } });
    expect(s.aif360.disparateImpact).toBeCloseTo(2.5, 15);
    expect(s.aif360.privilegedGroupChosenBy).toBe('option');
    expect(() => computeFairness(table(data), cols, { privilegedGroup: { g: 'Z' } })).toThrow(/has no rows/);
  });
});

describe('groups', () => {
  it('flags small groups instead of merging them', () => {
    const r = computeFairness(table([...data, ...rows('C', 1, 0, 1, 0)]), cols);
    expect(r.groups.map((g) => [g.name, g.count, g.small])).toEqual([
      ['g=A', 20, true],
      ['g=B', 20, true],
      ['g=C', 2, true],
    ]);
    expect(r.smallGroups).toEqual(['g=A', 'g=B', 'g=C']);
    expect(
      computeFairness(table([...data, ...rows('C', 1, 0, 1, 0)]), cols, { minGroupSize: 10 }).smallGroups,
    ).toEqual(['g=C']);
  });

  it('forms intersectional groups from several sensitive columns', () => {
    const t = { y: [1, 0, 1, 0], p: [1, 1, 0, 0], s: ['f', 'f', 'm', 'm'], r: ['x', 'y', 'x', 'x'] };
    const r = computeFairness(t, { label: 'y', prediction: 'p', sensitive: ['s', 'r'] });
    expect(r.groups.map((g) => [g.name, g.count])).toEqual([
      ['s=f, r=x', 1],
      ['s=f, r=y', 1],
      ['s=m, r=x', 2],
    ]);
  });

  it('reports undefined rates as null and leaves them out of the aggregates', () => {
    // Group B has no positive labels: TPR undefined.
    const t = { y: [1, 0, 0, 0], p: [1, 0, 1, 0], g: ['A', 'A', 'B', 'B'] };
    const r = computeFairness(t, { label: 'y', prediction: 'p', sensitive: ['g'] });
    expect(r.groups[1]?.truePositiveRate).toBeNull();
    expect(r.fairlearn.equalOpportunityDifference).toBe(0);
    expect(JSON.stringify(r)).not.toContain('NaN');
  });

  it('reads true/false as 1/0 and takes other label pairs', () => {
    const a = computeFairness(
      { y: [true, false], p: [true, true], g: ['a', 'a'] },
      { label: 'y', prediction: 'p', sensitive: ['g'] },
    );
    expect(a.groups[0]).toMatchObject({ truePositives: 1, falsePositives: 1 });
    const b = computeFairness(
      { y: ['yes', 'no'], p: ['no', 'no'], g: ['a', 'a'] },
      { label: 'y', prediction: 'p', sensitive: ['g'] },
      { positiveLabel: 'yes', negativeLabel: 'no' },
    );
    expect(b.groups[0]).toMatchObject({ falseNegatives: 1, trueNegatives: 1 });
  });
});

describe('bad input', () => {
  it('rejects labels that are not binary, naming the column and row', () => {
    try {
      computeFairness({ y: [1, 2], p: [1, 0], g: ['a', 'b'] }, cols);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FalajError);
      expect((err as FalajError).code).toBe('FALAJ_DATA_INVALID');
      expect((err as FalajError).details).toEqual({ column: 'y', value: 2, row: 1 });
    }
    expect(() => computeFairness({ y: [1, 0], p: [1, null], g: ['a', 'b'] }, cols)).toThrow(
      /'p' must be binary/,
    );
  });

  it('names a missing column and refuses an empty sensitive list', () => {
    expect(() => computeFairness({ y: [1], p: [1] }, cols)).toThrow(/column 'g' is missing/);
    expect(() => computeFairness({ y: [1], p: [1] }, { label: 'y', prediction: 'p', sensitive: [] })).toThrow(
      /at least one sensitive column/,
    );
  });
});
