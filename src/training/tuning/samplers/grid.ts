// Exhaustive search: every combination of the listed values, trial n taking combination n. A
// conditional parameter only multiplies the combinations in which it is active.
import { FalajError } from '../../../core/errors.js';
import { Random } from '../../random.js';
import {
  type ChoiceValue,
  type CompiledParam,
  type CompiledSpace,
  choiceIndex,
  fromInternal,
  isActive,
  type Params,
} from '../space.js';
import type { Sampler } from './sampler.js';

export interface GridOptions {
  /**
   * Evenly spaced points per numeric range (log-spaced for log parameters), rounded onto ints
   * and steps and deduplicated; a number for all ranges or one per parameter. Without it, ints
   * and stepped floats contribute every value and a continuous float is an error (an infinite grid).
   */
  points?: number | Record<string, number>;
  /** Explicit values for some parameters (each must be legal for the parameter). */
  values?: Record<string, ChoiceValue[]>;
  /** Visit the combinations in an order shuffled by the study seed (default false: in order). */
  shuffle?: boolean;
  /** Largest grid accepted (default 1,000,000). */
  maxSize?: number;
}

function gridError(parameter: string, reason: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `grid sampler: parameter '${parameter}' ${reason}`, {
    parameter,
    reason,
  });
}

function pointsFor(name: string, options: GridOptions): number | undefined {
  const p = typeof options.points === 'object' ? options.points[name] : options.points;
  if (p !== undefined && (!Number.isInteger(p) || p < 1))
    throw gridError(name, `needs a positive integer number of points, got ${p}`);
  return p;
}

function legalValue(param: CompiledParam, v: ChoiceValue): boolean {
  if (param.spec.type === 'categorical') return choiceIndex(param.spec.choices, v) >= 0;
  const d = param.numeric!;
  if (typeof v !== 'number' || v < d.low || v > d.high) return false;
  if (d.step === undefined) return true;
  const k = (v - d.low) / d.step;
  return Math.abs(k - Math.round(k)) < 1e-9 && (d.kind === 'float' || Number.isInteger(v));
}

function valuesFor(param: CompiledParam, options: GridOptions, maxSize: number): ChoiceValue[] {
  const { name, spec } = param;
  const explicit = options.values?.[name];
  if (explicit !== undefined) {
    if (!Array.isArray(explicit) || explicit.length === 0)
      throw gridError(name, 'has an empty list of values');
    for (const v of explicit) {
      if (!legalValue(param, v))
        throw gridError(name, `lists ${JSON.stringify(v)}, which the search space does not allow`);
    }
    return [...explicit];
  }
  if (spec.type === 'categorical') return [...spec.choices];
  const d = param.numeric!;
  const n = pointsFor(name, options);
  if (n === undefined) {
    if (d.step === undefined) {
      throw gridError(name, 'is a continuous range: give grid points or values (the grid would be infinite)');
    }
    const count = Math.round((d.high - d.low) / d.step) + 1;
    if (count > maxSize) throw gridError(name, `has ${count} values, more than the grid limit ${maxSize}`);
    return Array.from({ length: count }, (_, k) =>
      fromInternal(d, d.log ? Math.log(d.low + k * d.step!) : d.low + k * d.step!),
    );
  }
  // Evenly spaced in the parameter's own scale between its ends (log ends for log parameters).
  const a = d.log ? Math.log(d.low) : d.low;
  const b = d.log ? Math.log(d.high) : d.high;
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const v = fromInternal(d, n === 1 ? (a + b) / 2 : a + ((b - a) * k) / (n - 1));
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

export function gridSampler(options: GridOptions = {}): Sampler {
  return {
    name: 'grid',
    bind(space: CompiledSpace, seed: number) {
      const maxSize = options.maxSize ?? 1_000_000;
      for (const name of Object.keys(options.values ?? {})) {
        if (!space.params.has(name)) throw gridError(name, 'has grid values but is not in the search space');
      }
      if (typeof options.points === 'object') {
        for (const name of Object.keys(options.points)) {
          if (!space.params.has(name))
            throw gridError(name, 'has grid points but is not in the search space');
        }
      }
      const values = new Map(
        space.order.map((name) => [name, valuesFor(space.params.get(name)!, options, maxSize)]),
      );
      const grid: Params[] = [];
      const assigned: Params = {};
      const walk = (i: number): void => {
        if (grid.length > maxSize)
          throw gridError(space.order[0]!, `makes a grid larger than the limit ${maxSize}`);
        const name = space.order[i];
        if (name === undefined) {
          grid.push({ ...assigned });
          return;
        }
        if (!isActive(space, name, assigned)) {
          walk(i + 1);
          return;
        }
        for (const v of values.get(name)!) {
          assigned[name] = v;
          walk(i + 1);
        }
        delete assigned[name];
      };
      walk(0);
      if (options.shuffle === true) new Random(seed).shuffle(grid);
      return {
        capacity: grid.length,
        sample: (ctx) => {
          const point = grid[ctx.trialNumber];
          if (point === undefined) {
            throw new FalajError('FALAJ_INVALID_ARGUMENT', `the grid has only ${grid.length} points`, {
              parameter: 'nTrials',
            });
          }
          return { ...point };
        },
      };
    },
  };
}
