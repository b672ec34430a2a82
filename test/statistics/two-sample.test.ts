import { describe, expect, it } from 'vitest';
import { ksTwoSampleExactSf } from '../../src/statistics/distributions.js';
import {
  chiSquareGoodnessOfFit,
  compareSorted,
  fillZeroShares,
  jensenShannonDistance,
  ksTwoSample,
  lInfinityDistance,
  normalisedWasserstein,
  populationStabilityIndex,
  populationStd,
  zTestTwoProportions,
} from '../../src/statistics/two-sample.js';

const f = (a: number[]) => Float64Array.from(a).sort();

describe('two-sample KS', () => {
  it('finds D on two tiny samples by hand', () => {
    // Pooled order: 1r 2r 2.5c 3r 3.5c 4r 5c 6c 7c. |F − G| after each value:
    // .25 .5 .3 .55 .35 .6 .4 .2 0 → D = 0.6 (F = 4/4, G = 2/5 after 4).
    const r = ksTwoSample(f([1, 2, 3, 4]), f([2.5, 3.5, 5, 6, 7]));
    expect(r.statistic).toBeCloseTo(0.6, 15);
    expect(r.method).toBe('exact');
    // Its p-value by enumeration of the 126 orderings: D ≥ 0.6 ⇔ max|i·5 − j·4| ≥ 12.
    let hit = 0;
    let total = 0;
    const walk = (i: number, j: number, d: number) => {
      if (i === 4 && j === 5) {
        total++;
        if (d >= 12) hit++;
        return;
      }
      if (i < 4) walk(i + 1, j, Math.max(d, Math.abs((i + 1) * 5 - j * 4)));
      if (j < 5) walk(i, j + 1, Math.max(d, Math.abs(i * 5 - (j + 1) * 4)));
    };
    walk(0, 0, 0);
    expect(total).toBe(126);
    expect(r.pValue).toBeCloseTo(hit / total, 15);
    expect(ksTwoSampleExactSf(4, 5, 12)).toBeCloseTo(hit / total, 15);
  });

  it('treats ties at one value as one step of both ECDFs', () => {
    // ref {1,1,2}, cur {1,2,2}: at 1: F = 2/3, G = 1/3 → D = 1/3; at 2 both reach 1.
    expect(ksTwoSample(f([1, 1, 2]), f([1, 2, 2])).statistic).toBeCloseTo(1 / 3, 15);
  });

  it('switches to the asymptotic distribution above 10,000 values per side', () => {
    const a = new Float64Array(10_001).map((_, i) => i);
    const b = new Float64Array(10_001).map((_, i) => i + 0.5);
    expect(ksTwoSample(a, b).method).toBe('asymptotic');
  });
});

describe('Wasserstein-1', () => {
  it('matches scipy documentation examples worked by hand', () => {
    // scipy: wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5 (a pure shift by 5).
    expect(compareSorted(f([0, 1, 3]), f([5, 6, 8])).wasserstein).toBeCloseTo(5, 14);
    // scipy's weighted example [0,1] w [3,1] vs [0,1] w [2,2] = 0.25, i.e. these samples:
    // F(0) = 3/4, G(0) = 1/2, equal from 1 on: ∫|F − G| = 0.25 · (1 − 0).
    expect(compareSorted(f([0, 0, 0, 1]), f([0, 0, 1, 1])).wasserstein).toBeCloseTo(0.25, 15);
  });

  it('is normalised by the population std of the reference, floored at 0.001', () => {
    // ref [0,0,0,1]: mean 1/4, variance (3·1/16 + 9/16)/4 = 3/16, std √3/4; 0.25/(√3/4) = 1/√3.
    const std = populationStd(f([0, 0, 0, 1]));
    expect(std).toBeCloseTo(Math.sqrt(3) / 4, 15);
    expect(normalisedWasserstein(0.25, std)).toBeCloseTo(1 / Math.sqrt(3), 14);
    expect(normalisedWasserstein(0.25, 0)).toBeCloseTo(250, 10);
  });
});

describe("chi-squared (Evidently's goodness of fit)", () => {
  it("reproduces Mendel's peas against the 9:3:3:1 ratio", () => {
    // Textbook: 315/108/101/32 of 556 against 9:3:3:1 gives χ² = 0.470, df 3, p = 0.925.
    const r = chiSquareGoodnessOfFit([9, 3, 3, 1], [315, 108, 101, 32]);
    expect(r.statistic).toBeCloseTo(0.470024, 5);
    expect(r.pValue).toBeCloseTo(0.9254, 3);
  });

  it('scales reference counts to the current size, df = k − 1 (closed form for df = 2)', () => {
    // Expected = [50, 30, 20] (ref counts × 100/100); χ² = 20²/50 + 10²/30 + 10²/20 = 8 + 10/3 + 5.
    const r = chiSquareGoodnessOfFit([50, 30, 20], [30, 40, 30]);
    expect(r.statistic).toBeCloseTo(49 / 3, 12);
    expect(r.pValue).toBeCloseTo(Math.exp(-49 / 6), 15);
    // Reference counts are shares: doubling them changes nothing.
    expect(chiSquareGoodnessOfFit([100, 60, 40], [30, 40, 30]).statistic).toBeCloseTo(49 / 3, 12);
  });

  it('gives an infinite statistic and p = 0 for a category the reference never saw', () => {
    expect(chiSquareGoodnessOfFit([10, 0], [5, 5])).toEqual({
      statistic: Number.POSITIVE_INFINITY,
      pValue: 0,
    });
  });
});

describe('Z-test for two proportions', () => {
  it('matches the pooled two-sided test worked by hand', () => {
    // 120/200 vs 90/200: P = 210/400 = 0.525, SE = √(0.525·0.475·(1/200 + 1/200)),
    // z = 0.15/SE = 3.003757; normal table Φ(3.00) = 0.99865, Φ(3.01) = 0.99869 → p ≈ 0.00267.
    const r = zTestTwoProportions(120, 200, 90, 200);
    expect(r.statistic).toBeCloseTo(0.15 / Math.sqrt(0.525 * 0.475 * 0.01), 12);
    expect(r.statistic).toBeCloseTo(3.003757, 6);
    expect(r.pValue).toBeCloseTo(0.00267, 4);
  });

  it('says p = 1 when every value is the same', () => {
    expect(zTestTwoProportions(10, 10, 5, 5)).toEqual({ statistic: 0, pValue: 1 });
  });
});

describe('Jensen–Shannon distance (base e)', () => {
  it('is √ln 2 for disjoint distributions', () => {
    // m = (½, ½): KL(p‖m) = KL(q‖m) = ln 2, so JS = ln 2 and the distance √ln 2.
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 15);
  });

  it('matches a small case derived by hand, from counts or shares', () => {
    // p = (½, ½), q = (1, 0), m = (¾, ¼): KL(p‖m) = ½ln(2/3) + ½ln 2 = ½ln(4/3),
    // KL(q‖m) = ln(4/3); JS = (½ + 1)/2 · ln(4/3) = ¾ ln(4/3) → distance √(¾ ln(4/3)) ≈ 0.46450.
    const expected = Math.sqrt(0.75 * Math.log(4 / 3));
    expect(jensenShannonDistance([0.5, 0.5], [1, 0])).toBeCloseTo(expected, 15);
    expect(jensenShannonDistance([7, 7], [3, 0])).toBeCloseTo(expected, 15);
    expect(expected).toBeCloseTo(0.4645, 4);
  });
});

describe('PSI', () => {
  it('matches shares worked by hand', () => {
    // (0.5 − 0.25)·ln(0.5/0.25) + (0.5 − 0.75)·ln(0.5/0.75) = 0.25·ln 2 + 0.25·ln 1.5 ≈ 0.274653.
    expect(populationStabilityIndex([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(
      0.25 * Math.LN2 + 0.25 * Math.log(1.5),
      15,
    );
    expect(populationStabilityIndex([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 6);
  });

  it("fills empty bins by Evidently's rule", () => {
    // The smallest non-zero share (0.5) is above 0.0001, so the empty bin becomes 0.0001:
    // 0.25·ln 2 + (0.0001 − 0.25)·ln(0.0001/0.25) ≈ 0.173287 + 1.955230 = 2.128517.
    expect(populationStabilityIndex([0.5, 0.5, 0], [0.5, 0.25, 0.25])).toBeCloseTo(2.128517, 5);
    // When the smallest non-zero share is ≤ 0.0001, the fill is that share / 10⁶.
    expect(fillZeroShares([0.99995, 0.00005, 0])).toEqual([0.99995, 0.00005, 0.00005 / 1e6]);
  });
});

describe('L∞ distance', () => {
  it('is the largest frequency difference', () => {
    // (3/4, 1/4) against (1/2, 1/2).
    expect(lInfinityDistance([3, 1], [1, 1])).toBeCloseTo(0.25, 15);
  });
});
