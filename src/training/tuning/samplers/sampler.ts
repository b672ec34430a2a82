// The contract between the study and a sampler.
import type { Random } from '../../random.js';
import type { CompiledSpace, Params } from '../space.js';
import type { Direction, TrialRecord } from '../trial.js';

export interface SampleContext {
  readonly space: CompiledSpace;
  readonly trialNumber: number;
  /**
   * The finished trials this trial may learn from (a deterministic snapshot, see the study), in
   * number order; samplers skip failed ones themselves.
   */
  readonly history: readonly TrialRecord[];
  readonly direction: Direction;
  /** This trial's own stream, derived from (study seed, trial number). */
  readonly random: Random;
}

/** A sampler bound to one study's space and seed. */
export interface BoundSampler {
  /** How many trials the sampler can propose at most (a grid's size); undefined when unbounded. */
  readonly capacity: number | undefined;
  sample(ctx: SampleContext): Params;
}

/** A sampler configuration; `bind` validates it against a space (errors name the parameter). */
export interface Sampler {
  readonly name: string;
  bind(space: CompiledSpace, seed: number): BoundSampler;
}
