import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import {
  categorical,
  compileSpace,
  float,
  fromInternal,
  int,
  isActive,
} from '../../../src/training/tuning/space.js';

function errorOf(space: unknown): FalajError {
  try {
    compileSpace(space);
  } catch (err) {
    expect(err).toBeInstanceOf(FalajError);
    return err as FalajError;
  }
  throw new Error('expected compileSpace to throw');
}

describe('search space', () => {
  it('builders produce plain JSON that compiles back to the same space', () => {
    const space = {
      booster: categorical(['gbdt', 'linear']),
      maxLeaves: int(8, 256, { log: true, when: { booster: 'gbdt' } }),
      learningRate: float(1e-3, 0.3, { log: true }),
      l2: float(0, 1, { step: 0.25 }),
    };
    const json = JSON.parse(JSON.stringify(space));
    expect(json.maxLeaves).toEqual({ type: 'int', low: 8, high: 256, log: true, when: { booster: 'gbdt' } });
    const compiled = compileSpace(json);
    expect(compiled.spec).toEqual(space);
    expect(compiled.order.indexOf('booster')).toBeLessThan(compiled.order.indexOf('maxLeaves'));
  });

  it('orders parents before children even when declared after them', () => {
    const compiled = compileSpace({
      depth: int(1, 3, { when: { kind: 'tree' } }),
      kind: categorical(['tree', 'line']),
    });
    expect(compiled.order).toEqual(['kind', 'depth']);
  });

  it.each([
    ['low > high', { a: int(5, 1) }, 'a', /greater than high/],
    ['float low > high', { b: float(1, 0) }, 'b', /greater than high/],
    ['log with low = 0', { c: float(0, 1, { log: true }) }, 'c', /log scale/],
    ['log with negative low', { c: int(-1, 10, { log: true }) }, 'c', /log scale/],
    ['non-integer int bound', { d: { type: 'int', low: 0.5, high: 3 } }, 'd', /integer low/],
    ['zero step', { e: float(0, 1, { step: 0 }) }, 'e', /positive step/],
    ['log and step', { f: float(1, 10, { log: true, step: 1 }) }, 'f', /both log and a step/],
    ['empty choices', { g: categorical([]) }, 'g', /no choices/],
    ['duplicate choices', { g: categorical(['x', 'x']) }, 'g', /twice/],
    ['unknown type', { h: { type: 'uniform', low: 0, high: 1 } }, 'h', /expected int, float or categorical/],
    ['unknown field', { i: { type: 'int', low: 0, high: 1, lgo: true } }, 'i', /unknown field 'lgo'/],
    ['NaN bound', { j: { type: 'float', low: Number.NaN, high: 1 } }, 'j', /finite number low/],
    [
      'condition on an unknown parameter',
      { k: int(1, 2, { when: { nope: 'x' } }) },
      'k',
      /unknown parameter 'nope'/,
    ],
    [
      'condition on a numeric parameter',
      { n: int(1, 2), k: int(1, 2, { when: { n: 1 } }) },
      'k',
      /not categorical/,
    ],
    [
      'condition on a value the parent cannot take',
      { p: categorical(['a', 'b']), k: int(1, 2, { when: { p: 'c' } }) },
      'k',
      /not a choice/,
    ],
    ['condition on itself', { s: categorical(['a'], { when: { s: 'a' } }) }, 's', /itself/],
  ])('rejects %s naming the parameter', (_label, space, parameter, message) => {
    const err = errorOf(space);
    expect(err.code).toBe('FALAJ_INVALID_ARGUMENT');
    expect(err.message).toMatch(/impossible search space/);
    expect(err.message).toMatch(message);
    expect(err.details).toMatchObject({ parameter });
  });

  it('rejects conditions that form a cycle', () => {
    const err = errorOf({
      a: categorical(['x', 'y'], { when: { b: 'x' } }),
      b: categorical(['x', 'y'], { when: { a: 'x' } }),
    });
    expect(err.code).toBe('FALAJ_INVALID_ARGUMENT');
    expect(err.message).toMatch(/cycle/);
  });

  it('rejects a space that is not an object or has no parameters', () => {
    expect(errorOf([]).details).toMatchObject({ parameter: 'space' });
    expect(errorOf({}).details).toMatchObject({ parameter: 'space' });
    expect(errorOf({ a: 3 }).details).toMatchObject({ parameter: 'a' });
  });

  it('a conditional parameter is active only when its parents are active and match', () => {
    const space = compileSpace({
      booster: categorical(['gbdt', 'dart', 'linear']),
      leaves: int(2, 8, { when: { booster: ['gbdt', 'dart'] } }),
      kind: categorical(['a', 'b'], { when: { booster: 'gbdt' } }),
      deep: int(1, 2, { when: { kind: 'b' } }),
    });
    expect(isActive(space, 'leaves', { booster: 'dart' })).toBe(true);
    expect(isActive(space, 'leaves', { booster: 'linear' })).toBe(false);
    expect(isActive(space, 'deep', { booster: 'gbdt', kind: 'b' })).toBe(true);
    // The grandparent switched the parent off: the child is off too.
    expect(isActive(space, 'deep', { booster: 'linear' })).toBe(false);
  });

  it('a stepped float stops at the last step below high and maps onto the grid', () => {
    const d = compileSpace({ x: float(0, 1, { step: 0.3 }) }).params.get('x')!.numeric!;
    expect(d.high).toBe(0.9);
    expect(fromInternal(d, 0.62)).toBe(0.6);
    expect(fromInternal(d, 5)).toBe(0.9);
  });
});
