// Options of the gradient-boosted trees trainer, their defaults and their validation.
import os from 'node:os';
import { FalajError } from '../../core/errors.js';

export type GbdtObjective = 'binary' | 'multiclass' | 'squared_error' | 'absolute_error' | 'huber';

/** Per-round figures handed to `onRound`; validLoss is NaN when no validation set was given. */
export interface RoundInfo {
  readonly trainLoss: number;
  readonly validLoss: number;
}

export interface GbdtOptions {
  /** Defaults from the target: binary/multiclass for classes, squared_error for regression. */
  objective?: GbdtObjective;
  /** Boosting rounds (one tree per round, one per class per round for multiclass). Default 100. */
  nRounds?: number;
  /** Shrinkage applied to every leaf value. Default 0.1. */
  learningRate?: number;
  /** Leaves per tree (leaf-wise growth). Default 31. */
  maxLeaves?: number;
  /** Depth limit; -1 means none. Default -1. */
  maxDepth?: number;
  /** Rows (unweighted) each leaf must hold. Default 20. */
  minSamplesLeaf?: number;
  /** Hessian sum each leaf must hold. Default 1e-3. */
  minChildWeight?: number;
  /** L2 penalty on leaf values. Default 0. */
  lambdaL2?: number;
  /** A split must improve the (un-halved) gain by more than this. Default 0. */
  minGainToSplit?: number;
  /** Value bins per numeric feature (the missing bin comes on top). Default 255. */
  maxBins?: number;
  /** Fraction of rows drawn (Bernoulli, per round) for each tree. Default 1. */
  subsample?: number;
  /** Fraction of features drawn for each tree. Default 1. */
  colsample?: number;
  /** Smoothing added to the hessian when ordering categories by gradient ratio. Default 10. */
  catSmooth?: number;
  /** Huber loss threshold on |prediction - target|. Default 1. */
  huberDelta?: number;
  /** Seed for subsampling and the binning sample. Default 0. */
  seed?: number;
  /** Stop when the validation loss has not improved for this many rounds (needs validation). */
  earlyStoppingRounds?: number;
  /** Improvement smaller than this does not count for early stopping. Default 1e-7. */
  tolerance?: number;
  /** Threads building histograms (this one included). Default os.availableParallelism(). */
  nThreads?: number;
  /** Below this many training rows, one thread is used whatever nThreads says. Default 50,000. */
  parallelMinRows?: number;
  /** Called after every round (1-based count of finished rounds); returning 'stop' ends training, anything else goes on. */
  onRound?: (round: number, info: RoundInfo) => unknown;
}

/** Every option resolved; this (without the callback) is recorded in the model state. */
export interface GbdtParams {
  objective: GbdtObjective;
  nRounds: number;
  learningRate: number;
  maxLeaves: number;
  maxDepth: number;
  minSamplesLeaf: number;
  minChildWeight: number;
  lambdaL2: number;
  minGainToSplit: number;
  maxBins: number;
  subsample: number;
  colsample: number;
  catSmooth: number;
  huberDelta: number;
  seed: number;
  earlyStoppingRounds: number;
  tolerance: number;
}

function bad(name: string, value: unknown, rule: string): FalajError {
  return new FalajError(
    'FALAJ_INVALID_ARGUMENT',
    `gbdt parameter '${name}' must be ${rule} (got ${String(value)})`,
    {
      parameter: name,
      value,
    },
  );
}

function int(
  o: GbdtOptions,
  name: keyof GbdtOptions,
  dflt: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = o[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(name, v, `an integer in [${min}, ${max}]`);
  }
  return v;
}

function num(
  o: GbdtOptions,
  name: keyof GbdtOptions,
  dflt: number,
  ok: (v: number) => boolean,
  rule: string,
): number {
  const v = o[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw bad(name, v, rule);
  return v;
}

/** Fills defaults and rejects impossible values, naming the parameter. */
export function resolveParams(o: GbdtOptions, defaultObjective: GbdtObjective): GbdtParams {
  const objective = o.objective ?? defaultObjective;
  const objectives: GbdtObjective[] = ['binary', 'multiclass', 'squared_error', 'absolute_error', 'huber'];
  if (!objectives.includes(objective)) throw bad('objective', objective, `one of ${objectives.join(', ')}`);
  const maxDepth = int(o, 'maxDepth', -1, -1);
  if (maxDepth === 0) throw bad('maxDepth', 0, '-1 (no limit) or at least 1');
  return {
    objective,
    nRounds: int(o, 'nRounds', 100, 1),
    learningRate: num(o, 'learningRate', 0.1, (v) => v > 0, 'a number > 0'),
    maxLeaves: int(o, 'maxLeaves', 31, 2, 65536),
    maxDepth,
    minSamplesLeaf: int(o, 'minSamplesLeaf', 20, 1),
    minChildWeight: num(o, 'minChildWeight', 1e-3, (v) => v >= 0, 'a number >= 0'),
    lambdaL2: num(o, 'lambdaL2', 0, (v) => v >= 0, 'a number >= 0'),
    minGainToSplit: num(o, 'minGainToSplit', 0, (v) => v >= 0, 'a number >= 0'),
    maxBins: int(o, 'maxBins', 255, 2, 65535),
    subsample: num(o, 'subsample', 1, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    colsample: num(o, 'colsample', 1, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    catSmooth: num(o, 'catSmooth', 10, (v) => v >= 0, 'a number >= 0'),
    huberDelta: num(o, 'huberDelta', 1, (v) => v > 0, 'a number > 0'),
    seed: int(o, 'seed', 0, 0, 4294967295),
    earlyStoppingRounds: int(o, 'earlyStoppingRounds', 0, 0),
    tolerance: num(o, 'tolerance', 1e-7, (v) => v >= 0, 'a number >= 0'),
  };
}

/** Threads to use for a fit of `nRows` rows. */
export function resolveThreads(o: GbdtOptions, nRows: number): number {
  const n = int(o, 'nThreads', os.availableParallelism(), 1, 1024);
  const minRows = int(o, 'parallelMinRows', 50_000, 0);
  if (o.onRound !== undefined && typeof o.onRound !== 'function')
    throw bad('onRound', o.onRound, 'a function');
  return nRows < minRows ? 1 : n;
}
