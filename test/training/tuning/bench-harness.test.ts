import { describe, expect, it } from 'vitest';
import { compareSamplers, syntheticLearningCurve } from '../../../bench/tuning.js';

// The benchmark harness the lead runs on the real gradient-boosted-trees objective: a small run
// checks that its figures are consistent and reproducible, not what they are.
describe('tuning benchmark harness', () => {
  it('reports per-seed and median figures, the same on a rerun', async () => {
    const factory = (seed: number) => syntheticLearningCurve(seed, 30);
    const options = { seeds: [1, 2], budget: 15, matchTrialFactor: 2 };
    const a = await compareSamplers(factory, options);
    const b = await compareSamplers(factory, options);
    expect(b).toEqual(a);
    expect(a.seeds.map((s) => s.seed)).toEqual([1, 2]);
    for (const s of a.seeds) {
      // Without pruning every trial uses the full 30 rounds.
      expect(s.unprunedResource).toBe(15 * 30);
      expect(s.prunedResource).toBeLessThan(s.unprunedResource);
      // Reaching random's best within the budget means TPE's best is at least as good (AUC: higher).
      if (s.tpeTrialsToReach !== null) {
        expect(s.tpeTrialsToReach).toBeLessThanOrEqual(15);
        expect(s.tpeBest).toBeGreaterThanOrEqual(s.randomBest);
      } else expect(s.tpeBest).toBeLessThan(s.randomBest);
    }
    expect(a.pruning.pruner).toEqual({ type: 'successive-halving', reductionFactor: 3, minResource: 2 });
    expect(a.pruning.medianResourceRatio).toBeGreaterThan(1);
  });
});
