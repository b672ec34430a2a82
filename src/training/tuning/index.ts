// Hyperparameter tuning: search spaces, samplers (random, grid, TPE), pruners (median rule,
// asynchronous successive halving), the study that runs an objective over them, and the one
// orchestration (tune) that in-process and job trials share.
export { type MedianOptions, medianPruner } from './pruners/median.js';
export { noPruner, type PruneContext, type Pruner } from './pruners/pruner.js';
export {
  type SuccessiveHalvingOptions,
  successiveHalvingPruner,
  successiveHalvingPruner as ashaPruner,
} from './pruners/successive-halving.js';
export { type GridOptions, gridSampler } from './samplers/grid.js';
export { defaultWeights } from './samplers/parzen.js';
export { randomSampler } from './samplers/random.js';
export type { BoundSampler, SampleContext, Sampler } from './samplers/sampler.js';
export { defaultGamma, splitTrials, type TpeOptions, tpeSampler } from './samplers/tpe.js';
export {
  type CategoricalParam,
  type ChoiceValue,
  type CompiledSpace,
  type Condition,
  categorical,
  compileSpace,
  type FloatParam,
  float,
  type IntParam,
  int,
  type ParamSpec,
  type Params,
  type SearchSpace,
} from './space.js';
export { createPruner, createSampler, type PrunerSpec, type SamplerSpec } from './specs.js';
export {
  createStudy,
  type Objective,
  type OptimizeOptions,
  type OptimizeResult,
  Study,
  type StudyJSON,
  type StudyOptions,
  type Trial,
} from './study.js';
export {
  type Direction,
  type IntermediateValue,
  isTrialPruned,
  TrialPruned,
  type TrialRecord,
  type TrialState,
} from './trial.js';
export { type RunTrial, type TrialOutcome, type TuneOptions, type TuneResult, tune } from './tune.js';
