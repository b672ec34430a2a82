// Independent uniform sampling: uniform in the internal coordinate, so log parameters are
// log-uniform and every value of an int or stepped float is equally likely.
import type { Random } from '../../random.js';
import {
  type ChoiceValue,
  type CompiledParam,
  type CompiledSpace,
  fromInternal,
  isActive,
  type Params,
} from '../space.js';
import type { Sampler } from './sampler.js';

export function sampleUniform(param: CompiledParam, random: Random): ChoiceValue {
  if (param.spec.type === 'categorical') return param.spec.choices[random.int(param.spec.choices.length)]!;
  const d = param.numeric!;
  return fromInternal(d, d.lo + random.next() * (d.hi - d.lo));
}

/** Samples every active parameter uniformly, parents first. */
export function sampleAllUniform(space: CompiledSpace, random: Random): Params {
  const params: Params = {};
  for (const name of space.order) {
    if (isActive(space, name, params)) params[name] = sampleUniform(space.params.get(name)!, random);
  }
  return params;
}

export function randomSampler(): Sampler {
  return {
    name: 'random',
    bind: () => ({ capacity: undefined, sample: (ctx) => sampleAllUniform(ctx.space, ctx.random) }),
  };
}
