// The two prediction paths (generated code and the node-array walker) agree, on numeric,
// categorical and missing inputs, binary and multiclass.
import { describe, expect, it } from 'vitest';
import { trainGbdtSync } from '../../../src/training/gbdt/index.js';
import { Random } from '../../../src/training/random.js';
import { categorical, frame, numeric } from './data.js';

function mixed(n: number, seed: number, classes: number, nLevels = 40) {
  const rng = new Random(seed);
  const x = Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : rng.normal()));
  const z = Array.from({ length: n }, () => rng.normal());
  const levels = Array.from({ length: nLevels }, (_, i) => `l${i}`);
  const codes = Array.from({ length: n }, () => rng.int(nLevels + 1) - 1);
  const labels = Int32Array.from({ length: n }, (_, i) => {
    const c = codes[i] as number;
    const s =
      (Number.isNaN(x[i]) ? 1 : (x[i] as number)) +
      (c >= 0 && c % 3 === 0 ? 1.5 : 0) +
      0.5 * (z[i] as number);
    return Math.max(0, Math.min(classes - 1, Math.floor(s + classes / 2 + 0.3 * rng.normal())));
  });
  const features = frame(numeric('x', x), numeric('z', z), categorical('c', codes, levels));
  const classNames = Array.from({ length: classes }, (_, i) => `k${i}`);
  return { features, target: { kind: 'classification' as const, name: 'y', classes: classNames, labels } };
}

describe('gbdt prediction paths', () => {
  // 40 levels: the generated code reads category bitsets; 12: each set is one literal mask.
  for (const [classes, levels] of [
    [2, 40],
    [3, 40],
    [2, 12],
    [3, 32],
  ] as const) {
    it(`generated code equals the node walker (${classes} classes, ${levels} levels)`, () => {
      const data = mixed(3000, classes, classes, levels);
      const model = trainGbdtSync(data, { nRounds: 30, minSamplesLeaf: 5 });
      const probe = mixed(1000, 99, classes, levels).features;
      const a = model.predictRaw(probe);
      const b = model.predictRaw(probe, true);
      expect(a.length).toBe(1000 * (classes === 2 ? 1 : classes));
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i] as number, 12);
      expect(model.featureImportance('split')[2] as number).toBeGreaterThan(0);
    });
  }
});
