// Hand-computed one-split trees: leaf values are -G/(H+λ)·lr with G, H summed by hand.
import { describe, expect, it } from 'vitest';
import { trainGbdtSync } from '../../../src/training/gbdt/index.js';
import { binary, frame, numeric, regression } from './data.js';

const stump = { nRounds: 1, maxLeaves: 2, minSamplesLeaf: 1, minChildWeight: 0 };

describe('gbdt stump', () => {
  it('squared error: leaf values are -G/(H+λ)·lr and the threshold is the largest left value', () => {
    // init = mean(y) = 2; g = f - y = [1, 1, -1, -1], h = 1. Best split x <= 2:
    // left G = 2, H = 2 → -2/(2+1)·0.5 = -1/3; right +1/3.
    const data = regression(frame(numeric('x', [1, 2, 3, 4])), [1, 1, 3, 3]);
    const model = trainGbdtSync(data, { ...stump, learningRate: 0.5, lambdaL2: 1 });
    const s = model.toState();
    expect(s.baseScore).toEqual([2]);
    expect(Array.from(s.trees.feature)).toEqual([0, -1, -1]);
    expect(s.trees.threshold[0]).toBe(2);
    expect(s.trees.value[1]).toBeCloseTo(-1 / 3, 12);
    expect(s.trees.value[2]).toBeCloseTo(1 / 3, 12);
    // Split gain (un-halved): GL²/(HL+λ) + GR²/(HR+λ) - G²/(H+λ) = 4/3 + 4/3 - 0.
    expect(s.trees.gain[0]).toBeCloseTo(8 / 3, 12);
    const p = model.predict(frame(numeric('x', [0, 2, 2.5, 100])));
    expect(Array.from(p).map((v) => Number(v.toFixed(12)))).toEqual(
      [5 / 3, 5 / 3, 7 / 3, 7 / 3].map((v) => Number(v.toFixed(12))),
    );
  });

  it('binary log loss: init is the log-odds and leaves are Newton steps', () => {
    // Base rate 1/2 → init 0, p = 0.5: g = p - y = [.5, .5, -.5, -.5], h = p(1-p) = .25.
    // Left G = 1, H = 0.5 → -1/0.5 · 0.1 = -0.2; right +0.2.
    const data = binary(frame(numeric('x', [1, 2, 3, 4])), [0, 0, 1, 1]);
    const model = trainGbdtSync(data, { ...stump, learningRate: 0.1 });
    const s = model.toState();
    expect(s.baseScore[0]).toBeCloseTo(0, 14);
    expect(s.trees.value[1]).toBeCloseTo(-0.2, 12);
    expect(s.trees.value[2]).toBeCloseTo(0.2, 12);
    const p = model.predict(frame(numeric('x', [1, 4])));
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(0.2)), 12);
    expect(p[3]).toBeCloseTo(1 / (1 + Math.exp(-0.2)), 12);
    expect((p[0] as number) + (p[1] as number)).toBeCloseTo(1, 14);
  });

  it('weighted base rate gives the initial log-odds', () => {
    // Weighted positives 3 of 4 → log(0.75/0.25) = log 3.
    const data = binary(frame(numeric('x', [1, 2, 3])), [0, 1, 1], [1, 1, 2]);
    const s = trainGbdtSync(data, { ...stump, nRounds: 1 }).toState();
    expect(s.baseScore[0]).toBeCloseTo(Math.log(3), 12);
  });

  it('minSamplesLeaf and maxDepth bound the tree', () => {
    const x = Array.from({ length: 40 }, (_, i) => i);
    const data = regression(
      frame(numeric('x', x)),
      x.map((v) => v * v),
    );
    const deep = trainGbdtSync(data, { nRounds: 1, maxLeaves: 31, minSamplesLeaf: 5 }).toState();
    for (let i = 0; i < deep.trees.count.length; i++) expect(deep.trees.count[i]).toBeGreaterThanOrEqual(5);
    // 40 rows in leaves of at least 5: at most 8 leaves.
    const leaves = deep.trees.feature.filter((f) => f < 0).length;
    expect(leaves).toBeGreaterThan(2);
    expect(leaves).toBeLessThanOrEqual(8);
    const shallow = trainGbdtSync(data, {
      nRounds: 1,
      maxLeaves: 31,
      minSamplesLeaf: 1,
      maxDepth: 2,
    }).toState();
    // Depth 2 with plenty of rows and a strictly convex target: a full binary tree of 4 leaves.
    expect(shallow.trees.feature.filter((f) => f < 0).length).toBe(4);
  });
});
