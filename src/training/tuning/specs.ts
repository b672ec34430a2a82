// Samplers and pruners described as JSON, for the CLI and the HTTP API.
import { FalajError } from '../../core/errors.js';
import { type MedianOptions, medianPruner } from './pruners/median.js';
import { noPruner, type Pruner } from './pruners/pruner.js';
import { type SuccessiveHalvingOptions, successiveHalvingPruner } from './pruners/successive-halving.js';
import { type GridOptions, gridSampler } from './samplers/grid.js';
import { randomSampler } from './samplers/random.js';
import type { Sampler } from './samplers/sampler.js';
import { type TpeOptions, tpeSampler } from './samplers/tpe.js';

export type SamplerSpec =
  | { type: 'random' }
  | ({ type: 'grid' } & Omit<GridOptions, never>)
  | ({ type: 'tpe' } & Omit<TpeOptions, 'gamma' | 'weights'>);

export type PrunerSpec =
  | { type: 'none' }
  | ({ type: 'median' } & MedianOptions)
  | ({ type: 'successive-halving' } & SuccessiveHalvingOptions);

function options(
  spec: Record<string, unknown>,
  allowed: readonly string[],
  what: string,
): Record<string, unknown> {
  const { type: _type, ...rest } = spec;
  for (const [key, v] of Object.entries(rest)) {
    if (!allowed.includes(key)) {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `${what}: unknown option '${key}'`, { parameter: key });
    }
    if (typeof v === 'function') {
      throw new FalajError('FALAJ_INVALID_ARGUMENT', `${what}: option '${key}' must be JSON`, {
        parameter: key,
      });
    }
  }
  return rest;
}

function asObject(spec: unknown, what: string): Record<string, unknown> {
  if (typeof spec === 'string') return { type: spec };
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `${what} must be an object with a type`, {
      parameter: what,
    });
  }
  return spec as Record<string, unknown>;
}

/** Builds a sampler from `{ type: 'random' | 'grid' | 'tpe', ...options }` or just its type name. */
export function createSampler(input: SamplerSpec | SamplerSpec['type'] | unknown): Sampler {
  const spec = asObject(input, 'sampler');
  switch (spec.type) {
    case 'random':
      options(spec, [], 'random sampler');
      return randomSampler();
    case 'grid':
      return gridSampler(
        options(spec, ['points', 'values', 'shuffle', 'maxSize'], 'grid sampler') as GridOptions,
      );
    case 'tpe':
      return tpeSampler(
        options(
          spec,
          [
            'nStartupTrials',
            'nEiCandidates',
            'considerPrior',
            'priorWeight',
            'considerMagicClip',
            'considerEndpoints',
          ],
          'tpe sampler',
        ) as TpeOptions,
      );
    default:
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `unknown sampler ${JSON.stringify(spec.type)}; expected random, grid or tpe`,
        {
          parameter: 'sampler',
        },
      );
  }
}

/** Builds a pruner from `{ type: 'none' | 'median' | 'successive-halving', ...options }` or its type name. */
export function createPruner(input: PrunerSpec | PrunerSpec['type'] | unknown): Pruner {
  const spec = asObject(input, 'pruner');
  switch (spec.type) {
    case 'none':
      options(spec, [], 'no pruner');
      return noPruner();
    case 'median':
      return medianPruner(
        options(
          spec,
          ['nStartupTrials', 'nWarmupSteps', 'intervalSteps', 'nMinTrials', 'percentile'],
          'median pruner',
        ) as MedianOptions,
      );
    case 'successive-halving':
    case 'asha':
      return successiveHalvingPruner(
        options(
          spec,
          ['minResource', 'reductionFactor', 'minEarlyStoppingRate', 'bootstrapCount'],
          'successive halving pruner',
        ) as SuccessiveHalvingOptions,
      );
    default:
      throw new FalajError(
        'FALAJ_INVALID_ARGUMENT',
        `unknown pruner ${JSON.stringify(spec.type)}; expected none, median or successive-halving`,
        { parameter: 'pruner' },
      );
  }
}
