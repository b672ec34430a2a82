// Hand-made models with hand-computed outputs: thresholds compared as doubles (x <= t), set
// splits, missing directions, unseen levels, single-leaf trees, a level named "", a
// categorical column without levels — checked against the numbers, and against native predict.
import { describe, expect, it } from 'vitest';
import type { Column, Frame } from '../../../src/training/frame.js';
import { GbdtModel } from '../../../src/training/gbdt/index.js';
import { LinearModel } from '../../../src/training/linear/index.js';
import { exportOnnx, onnxPredict } from '../../../src/training/onnx/index.js';
import { gbdtState, handGbdt, handLinear, linearState, nextUp, THRESHOLD } from './states.js';

function cat(name: string, values: (string | null)[]): Column {
  const levels = [...new Set(values.filter((v): v is string => v !== null))];
  return {
    kind: 'categorical',
    name,
    levels,
    codes: Int32Array.from(values, (v) => (v === null ? -1 : levels.indexOf(v))),
  };
}

function frameOf(...columns: Column[]): Frame {
  const c = columns[0] as Column;
  return { nRows: c.kind === 'numeric' ? c.values.length : c.codes.length, columns };
}

describe('GBDT graph semantics', () => {
  it('compares thresholds as doubles and routes sets, missing and unseen levels like the spec says', async () => {
    // float32 would round THRESHOLD and nextUp(THRESHOLD) to the same number.
    expect(Math.fround(THRESHOLD)).toBe(Math.fround(nextUp(THRESHOLD)));
    const x = [
      THRESHOLD,
      nextUp(THRESHOLD),
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      0,
      0,
      0,
      0,
    ];
    const c = ['', '', 'b', null, 'c', 'zzz', 'c', 'd', 'c\u0000x'];
    const f = frameOf(
      { kind: 'numeric', name: 'x', values: Float64Array.from(x) },
      cat('c', c),
      cat('e', ['u', null, 'v', 'u', 'u', 'u', 'u', 'u', 'u']),
    );
    const expected = [
      5000.5 + 1 + 0.125 + 1000, // x == threshold goes left; '' is level 0, in the set
      5000.5 + 100 + 0.125 + 1000, // one ulp above goes right
      5000.5 + 10 + 0.125 + 2000, // NaN: left in tree 0 ('b' not in set), right in tree 2
      5000.5 + 10 + 0.125 + 1000, // missing level goes right
      5000.5 + 100 + 0.125 + 1000, // +Infinity > threshold, but <= +Infinity
      5000.5 + 10 + 0.125 + 1000, // unseen level 'zzz' counts as missing
      5000.5 + 1 + 0.125 + 1000,
      5000.5 + 10 + 0.125 + 1000,
      5000.5 + 10 + 0.125 + 1000, // 'c\u0000x' is unseen, not 'c' (onnxruntime-node cuts at NUL)
    ];
    const state = handGbdt();
    expect(Array.from(GbdtModel.fromState(state).predict(f))).toEqual(expected);
    expect(Array.from(await onnxPredict(exportOnnx(state), f))).toEqual(expected);
  });

  it('binary and multiclass heads give the link of the raw scores', async () => {
    const leaf = (value: number) => [{ feature: -1, value }];
    const binary = gbdtState({
      task: 'binary',
      classes: ['n', 'y'],
      features: [{ name: 'x', kind: 'numeric' }],
      baseScore: [0.5],
      trees: [
        [
          { feature: 0, threshold: 0, left: 1, right: 2 },
          { feature: -1, value: -2 },
          { feature: -1, value: 1 },
        ],
      ],
    });
    const f = frameOf({ kind: 'numeric', name: 'x', values: Float64Array.from([-1, 1]) });
    const p = await onnxPredict(exportOnnx(binary), f);
    const s = (z: number) => 1 / (1 + Math.exp(-z));
    expect(p[0]).toBeCloseTo(1 - s(-1.5), 15);
    expect(p[1]).toBeCloseTo(s(-1.5), 15);
    expect(p[3]).toBeCloseTo(s(1.5), 15);
    const multi = gbdtState({
      task: 'multiclass',
      classes: ['a', 'b', 'c'],
      features: [{ name: 'x', kind: 'numeric' }],
      baseScore: [0, 1, 2],
      trees: [leaf(3), leaf(0), leaf(-3)],
    });
    const q = await onnxPredict(exportOnnx(multi), f);
    const e = [Math.exp(3), Math.exp(1), Math.exp(-1)];
    const sum = e[0]! + e[1]! + e[2]!;
    expect(Array.from(q.subarray(0, 3)).map((v) => Number(v.toFixed(12)))).toEqual(
      e.map((v) => Number((v / sum).toFixed(12))),
    );
  });
});

describe('linear graph semantics', () => {
  it('standardises, imputes missing and ±Infinity as the mean, one-hot encodes, ignores unseen levels', async () => {
    const f = frameOf(
      {
        kind: 'numeric',
        name: 'x',
        values: Float64Array.from([14, Number.NaN, Number.POSITIVE_INFINITY, 6, 10]),
      },
      cat('e', ['w', null, 'w', 'w', 'w']),
      cat('d', ['p', 'q', null, 'r', 'q']),
    );
    const expected = [100 + 2 + 3, 100 - 1, 100, 100 - 2, 100 - 1];
    const state = handLinear();
    expect(Array.from(LinearModel.fromState(state).predict(f))).toEqual(expected);
    expect(Array.from(await onnxPredict(exportOnnx(state), f))).toEqual(expected);
  });

  it('accepts the same column-kind conversions as the native linear encoder', async () => {
    // Text levels that are numbers for a numeric column, numbers for a categorical column.
    const state = linearState(
      'regression',
      [],
      {
        columns: [
          { kind: 'numeric', name: 'x', mean: 0, scale: 1 },
          { kind: 'categorical', name: 'k', levels: ['1', '2'] },
        ],
      },
      [[1, 10, 20]],
      [0],
    );
    const f = frameOf(cat('x', ['3', null, '5']), {
      kind: 'numeric',
      name: 'k',
      values: Float64Array.from([2, 1, Number.NaN]),
    });
    const native = LinearModel.fromState(state).predict(f);
    expect(Array.from(native)).toEqual([23, 10, 5]);
    expect(Array.from(await onnxPredict(exportOnnx(state), f))).toEqual(Array.from(native));
  });
});
