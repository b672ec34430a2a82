import { describe, expect, it } from 'vitest';
import { binOf, numericBin, paddedEdges } from '../../../src/training/gbdt/binning.js';
import { Random } from '../../../src/training/random.js';

describe('numeric bin search', () => {
  it('the branch-free search finds the same bin as the binary search, edges and extremes included', () => {
    const rng = new Random(11);
    for (const nEdges of [1, 2, 3, 7, 8, 9, 254, 255, 256, 257, 1000]) {
      const edges = Float64Array.from({ length: nEdges }, () => rng.normal() * 10).sort();
      const padded = paddedEdges(edges);
      const probes = [
        ...edges,
        ...Array.from(edges, (e) => e - 1e-9),
        ...Array.from(edges, (e) => e + 1e-9),
        ...Array.from({ length: 2000 }, () => rng.normal() * 20),
        Number.NEGATIVE_INFINITY,
        Number.POSITIVE_INFINITY,
        -1e308,
        1e308,
      ];
      for (const x of probes)
        expect(binOf(padded, nEdges, x), `${nEdges} edges, x=${x}`).toBe(numericBin(edges, x));
    }
  });
});
