import { describe, expect, it } from 'vitest';
import {
  chiSquaredSf,
  erfc,
  kolmogorovSf,
  ksTwoSampleExactSf,
  lnGamma,
  normalCdf,
  normalSf,
} from '../../src/statistics/distributions.js';

describe('chi-squared survival function', () => {
  it('equals the closed form exp(−x/2) for df = 2', () => {
    for (const x of [0.1, 1, 5.991464547107979, 13.8, 60, 400]) {
      expect(chiSquaredSf(x, 2) / Math.exp(-x / 2)).toBeCloseTo(1, 12);
    }
  });

  it('matches published critical values (upper 5% and 1% points)', () => {
    // Standard tables: χ²(0.05; 1) = 3.841, χ²(0.05; 10) = 18.307, χ²(0.01; 5) = 15.086.
    expect(chiSquaredSf(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquaredSf(18.307, 10)).toBeCloseTo(0.05, 4);
    expect(chiSquaredSf(15.086, 5)).toBeCloseTo(0.01, 4);
  });
});

describe('normal distribution', () => {
  it('hits the textbook quantiles', () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalSf(1.6448536269514722)).toBeCloseTo(0.05, 14);
    expect(normalCdf(0)).toBe(0.5);
  });

  it('keeps relative accuracy deep in the tail', () => {
    // Q(10) = 7.6198530241605e-24 (Abramowitz & Stegun table 26.1 / any high-precision source).
    expect(normalSf(10) / 7.61985302416047e-24).toBeCloseTo(1, 12);
    expect(normalCdf(-10) / 7.61985302416047e-24).toBeCloseTo(1, 12);
    // erfc(5) = 1.5374597944280349e-12.
    expect(erfc(5) / 1.5374597944280349e-12).toBeCloseTo(1, 12);
    expect(erfc(-1) + erfc(1)).toBeCloseTo(2, 15);
  });
});

describe('lnGamma', () => {
  it('gives exact factorials and half-integer values', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 15);
    // Γ(7/2) = (5/2)(3/2)(1/2)√π = 15√π/8.
    expect(lnGamma(3.5)).toBeCloseTo(Math.log((15 * Math.sqrt(Math.PI)) / 8), 13);
  });
});

describe('Kolmogorov distribution', () => {
  it('has its classical 5% critical value at 1.358', () => {
    // Smirnov's table: P(K ≥ 1.3581) = 0.05; P(K ≥ 1.6276) = 0.01.
    expect(kolmogorovSf(1.3580986393225507)).toBeCloseTo(0.05, 9);
    expect(kolmogorovSf(1.6276236115189)).toBeCloseTo(0.01, 9);
    // Both series agree where they hand over (λ = 1).
    expect(kolmogorovSf(1 - 1e-13)).toBeCloseTo(kolmogorovSf(1), 11);
  });
});

/** P(D ≥ d) by enumerating every placement of the n reference ranks among n + m. */
function enumerateKs(n: number, m: number): Map<number, number> {
  const counts = new Map<number, number>();
  let total = 0;
  const walk = (i: number, j: number, dMax: number) => {
    if (i === n && j === m) {
      counts.set(dMax, (counts.get(dMax) ?? 0) + 1);
      total++;
      return;
    }
    if (i < n) walk(i + 1, j, Math.max(dMax, Math.abs((i + 1) * m - j * n)));
    if (j < m) walk(i, j + 1, Math.max(dMax, Math.abs(i * m - (j + 1) * n)));
  };
  walk(0, 0, 0);
  const sf = new Map<number, number>();
  for (const d of counts.keys()) {
    let atLeast = 0;
    for (const [e, c] of counts) if (e >= d) atLeast += c;
    sf.set(d, atLeast / total);
  }
  return sf;
}

describe('exact two-sample KS p-value', () => {
  it('equals enumeration over all orderings', () => {
    for (const [n, m] of [
      [3, 3],
      [4, 5],
      [5, 7],
      [6, 6],
    ] as const) {
      for (const [dScaled, p] of enumerateKs(n, m)) {
        expect(ksTwoSampleExactSf(n, m, dScaled)).toBeCloseTo(p, 13);
      }
    }
  });

  it('gives the smallest p-value as 2/C(n+m, n)', () => {
    // Complete separation: only the two extreme orderings reach D = 1. C(9,4) = 126.
    expect(ksTwoSampleExactSf(4, 5, 20)).toBeCloseTo(2 / 126, 15);
  });
});
