// The fitted preprocessing of linear models: weighted standardisation, imputation, one-hot
// encoding, and how it treats columns that arrive in another shape at prediction time.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import {
  designNames,
  designWidth,
  fitPreprocess,
  parsePreprocessState,
  transform,
} from '../../../src/training/preprocess/index.js';
import { cat, frame, num } from './frames.js';

describe('fitPreprocess', () => {
  it('fits weighted mean and population std on the present values only', () => {
    // Weights 1, 3 on values 0 and 4 (the NaN row is ignored): mean 3, variance (9 + 3·1)/4 = 3.
    const s = fitPreprocess(frame(num('x', [0, 4, Number.NaN])), Float64Array.from([1, 3, 5]));
    expect(s.columns[0]).toEqual({ kind: 'numeric', name: 'x', mean: 3, scale: Math.sqrt(3) });
  });

  it('gives a constant column scale 1 and an empty one mean 0; keeps categorical levels', () => {
    const s = fitPreprocess(
      frame(num('c', [5, 5, 5]), num('e', [Number.NaN, Number.NaN, Number.NaN]), cat('g', ['b', 'a', null])),
    );
    expect(s.columns).toEqual([
      { kind: 'numeric', name: 'c', mean: 5, scale: 1 },
      { kind: 'numeric', name: 'e', mean: 0, scale: 1 },
      { kind: 'categorical', name: 'g', levels: ['a', 'b'] },
    ]);
    expect(designWidth(s)).toBe(4);
    expect(designNames(s)).toEqual(['c', 'e', 'g=a', 'g=b']);
  });
});

describe('transform', () => {
  const state = fitPreprocess(frame(num('x', [1, 3]), cat('g', ['a', 'b'])));

  it('standardises, imputes the mean (0) and one-hot encodes (unseen and missing → zeros)', () => {
    const x = transform(
      state,
      frame(num('x', [1, Number.NaN, 5, Number.POSITIVE_INFINITY]), cat('g', ['b', null, 'zz', 'a'])),
    );
    expect([...x]).toEqual([-1, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1, 0]);
  });

  it('finds columns by name, accepts numbers spelled as text and labels given as numbers', () => {
    const s = fitPreprocess(frame(num('x', [1, 3]), cat('k', ['1', '2'])));
    const x = transform(s, frame(num('k', [2, 7]), cat('x', ['3', '1'])));
    expect([...x]).toEqual([1, 0, 1, -1, 0, 0]);
  });

  it('names a missing column and a text column where numbers were trained', () => {
    expect(() => transform(state, frame(num('x', [1])))).toThrow(/needs column 'g'/);
    try {
      transform(state, frame(cat('x', ['high']), cat('g', ['a'])));
      throw new Error('expected an error');
    } catch (err) {
      expect((err as FalajError).code).toBe('FALAJ_MODEL_INVALID');
      expect((err as FalajError).details).toMatchObject({ column: 'x' });
    }
  });
});

describe('parsePreprocessState', () => {
  it('accepts a fitted state and refuses malformed ones', () => {
    expect(parsePreprocessState(JSON.parse(JSON.stringify(state())))).toEqual(state());
    for (const bad of [
      {},
      { columns: [{ kind: 'numeric', name: 'x', mean: 'a', scale: 1 }] },
      { columns: [{ kind: 'categorical', name: 'g', levels: ['a', 'a'] }] },
      { columns: [{ kind: 'other', name: 'g' }] },
      {
        columns: [
          { kind: 'numeric', name: 'x', mean: 0, scale: 1 },
          { kind: 'numeric', name: 'x', mean: 0, scale: 1 },
        ],
      },
    ]) {
      expect(() => parsePreprocessState(bad)).toThrow(FalajError);
    }
  });
});

function state() {
  return fitPreprocess(frame(num('x', [1, 3]), cat('g', ['a', 'b'])));
}
