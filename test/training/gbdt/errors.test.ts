// Bad input: clear errors naming the row, column or parameter; odd but legal input works.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import { GbdtModel, type GbdtState, trainGbdt, trainGbdtSync } from '../../../src/training/gbdt/index.js';
import { binary, categorical, frame, nonlinear, numeric, regression } from './data.js';

/** A state whose fields the corruption cases may overwrite. */
type Mutable = { -readonly [K in keyof GbdtState]: GbdtState[K] | unknown } & { trees: GbdtState['trees'] };

function failure(fn: () => unknown): FalajError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FalajError) return e;
    throw e;
  }
  throw new Error('expected a FalajError');
}

const x = numeric('x', [1, 2, 3, 4, 5, 6]);

describe('gbdt bad input', () => {
  it('rejects a non-finite regression target naming the row', () => {
    const e = failure(() => trainGbdtSync(regression(frame(x), [1, 2, 3, Number.NaN, 5, 6])));
    expect(e.code).toBe('FALAJ_DATA_INVALID');
    expect(e.message).toMatch(/'y' row 3/);
    const inf = failure(() => trainGbdtSync(regression(frame(x), [1, 2, Number.POSITIVE_INFINITY, 4, 5, 6])));
    expect(inf.message).toMatch(/row 2/);
  });

  it('rejects a missing class label naming the row', () => {
    const e = failure(() => trainGbdtSync(binary(frame(x), [0, 1, -1, 0, 1, 0])));
    expect(e.code).toBe('FALAJ_DATA_INVALID');
    expect(e.message).toMatch(/row 2/);
  });

  it('rejects a single class, an empty frame, bad weights and ragged columns', () => {
    expect(failure(() => trainGbdtSync(binary(frame(x), [1, 1, 1, 1, 1, 1]))).message).toMatch(
      /single class/,
    );
    const empty = failure(() => trainGbdtSync(binary(frame(numeric('x', [])), [])));
    expect(empty.code).toBe('FALAJ_DATA_INVALID');
    const w = failure(() => trainGbdtSync(binary(frame(x), [0, 1, 0, 1, 0, 1], [1, 1, -1, 1, 1, 1])));
    expect(w.message).toMatch(/row 2/);
    const ragged = failure(() =>
      trainGbdtSync(binary({ nRows: 6, columns: [x, numeric('short', [1, 2])] }, [0, 1, 0, 1, 0, 1])),
    );
    expect(ragged.message).toMatch(/'short'/);
  });

  it('rejects invalid parameters naming them', () => {
    const data = binary(frame(x), [0, 1, 0, 1, 0, 1]);
    const cases: [Record<string, unknown>, string][] = [
      [{ maxLeaves: 1 }, 'maxLeaves'],
      [{ learningRate: 0 }, 'learningRate'],
      [{ learningRate: -1 }, 'learningRate'],
      [{ subsample: 1.5 }, 'subsample'],
      [{ colsample: 0 }, 'colsample'],
      [{ maxBins: 1 }, 'maxBins'],
      [{ maxDepth: 0 }, 'maxDepth'],
      [{ nRounds: 2.5 }, 'nRounds'],
      [{ objective: 'poisson' }, 'objective'],
      [{ objective: 'squared_error' }, 'objective'],
      [{ earlyStoppingRounds: 5 }, 'earlyStoppingRounds'],
      [{ nThreads: 0 }, 'nThreads'],
    ];
    for (const [opts, name] of cases) {
      const e = failure(() => trainGbdtSync(data, opts));
      expect(e.code).toBe('FALAJ_INVALID_ARGUMENT');
      expect(e.message).toContain(`'${name}'`);
    }
  });

  it('the async fit rejects the same way', async () => {
    await expect(trainGbdt(binary(frame(x), [0, 1, 0, 1, 0, 1]), { maxLeaves: 1 })).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
    });
  });

  it('trains with constant and all-missing columns and never splits on them', () => {
    const data = nonlinear(2000, 1);
    const cols = [
      ...data.features.columns,
      numeric('constant', new Float64Array(2000).fill(7)),
      numeric('empty', new Float64Array(2000).fill(Number.NaN)),
      categorical('onelevel', new Array(2000).fill(0), ['only']),
    ];
    const model = trainGbdtSync({ ...data, features: frame(...cols) }, { nRounds: 20 });
    const splits = model.featureImportance('split');
    expect(Array.from(splits.subarray(5))).toEqual([0, 0, 0]);
    expect(splits[0] as number).toBeGreaterThan(0);
    expect(model.featureImportance('gain')[0] as number).toBeGreaterThan(0);
  });

  it('names a missing or mistyped column at prediction; ignores extra ones', () => {
    const data = nonlinear(500, 2);
    const model = trainGbdtSync(data, { nRounds: 3 });
    const cols = data.features.columns;
    const missing = failure(() => model.predict(frame(...cols.slice(1))));
    expect(missing.code).toBe('FALAJ_MODEL_INVALID');
    expect(missing.message).toContain("'x0'");
    const wrongKind = failure(() =>
      model.predict(frame(categorical('x0', new Array(500).fill(0), ['a']), ...cols.slice(1))),
    );
    expect(wrongKind.code).toBe('FALAJ_MODEL_INVALID');
    expect(wrongKind.message).toContain("'x0'");
    const extra = model.predict(frame(numeric('extra', new Float64Array(500)), ...[...cols].reverse()));
    expect(extra).toEqual(model.predict(data.features));
  });
});

describe('gbdt model state', () => {
  const model = trainGbdtSync(nonlinear(1000, 3), { nRounds: 5 });

  it('round-trips through fromState', () => {
    const again = GbdtModel.fromState(model.toState());
    expect(again.toState()).toEqual(model.toState());
    const f = nonlinear(200, 9).features;
    expect(again.predict(f)).toEqual(model.predict(f));
  });

  function corrupt(edit: (s: Mutable) => void): FalajError {
    const s = model.toState() as Mutable;
    edit(s);
    return failure(() => GbdtModel.fromState(s));
  }

  it('rejects corrupt states', () => {
    const edits: ((s: Mutable) => void)[] = [
      (s) => {
        s.format = 'other';
      },
      (s) => {
        s.version = 2;
      },
      (s) => {
        s.objective = 'poisson';
      },
      (s) => {
        s.baseScore = [];
      },
      (s) => {
        (s.trees as unknown as Record<string, unknown>).feature = Array.from(s.trees.feature);
      },
      (s) => {
        // A child pointing back at the root would loop forever.
        s.trees.left[0] = 0;
      },
      (s) => {
        s.trees.feature[0] = 99;
      },
      (s) => {
        s.trees.value[s.trees.feature.indexOf(-1)] = Number.NaN;
      },
      (s) => {
        s.nRounds = 4;
      },
      (s) => {
        s.classes = ['only'];
      },
    ];
    for (const edit of edits) expect(corrupt(edit).code).toBe('FALAJ_MODEL_INVALID');
    expect(failure(() => GbdtModel.fromState(null)).code).toBe('FALAJ_MODEL_INVALID');
    expect(failure(() => GbdtModel.fromState(JSON.parse(JSON.stringify(model.toState())))).code).toBe(
      'FALAJ_MODEL_INVALID',
    );
  });

  it('rejects an unknown importance type', () => {
    expect(failure(() => model.featureImportance('cover' as 'gain')).code).toBe('FALAJ_INVALID_ARGUMENT');
  });
});
