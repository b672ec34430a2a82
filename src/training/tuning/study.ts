// A study runs an objective over sampled parameters, up to `parallelism` trials at once, and
// keeps every trial as plain JSON.
//
// Reproducibility: trial n is sampled from, and judged by the pruner against, exactly the trials
// numbered ≤ n − parallelism (plus all trials of earlier optimize calls), and it starts only once
// all of those have finished. That snapshot depends on trial numbers alone, never on which trial
// happened to finish first, and each trial draws from its own Random seeded by (seed, number).
// So with a deterministic objective, the same seed and the same parallelism reproduce the study
// exactly (params, states, values, intermediate values; not durations). With parallelism 1 the
// snapshot is simply every earlier trial. Different parallelism gives a different (equally valid)
// study. The cost: a slow trial n holds back trial n + parallelism, while other slots keep going.
import { FalajError } from '../../core/errors.js';
import { Random } from '../random.js';
import { noPruner, type Pruner } from './pruners/pruner.js';
import type { BoundSampler, Sampler } from './samplers/sampler.js';
import { tpeSampler } from './samplers/tpe.js';
import { type CompiledSpace, checkParams, compileSpace, type Params, type SearchSpace } from './space.js';
import { createPruner, createSampler, type PrunerSpec, type SamplerSpec } from './specs.js';
import {
  better,
  type Direction,
  deriveSeed,
  type IntermediateValue,
  isTrialPruned,
  TrialPruned,
  type TrialRecord,
} from './trial.js';

export interface StudyOptions {
  /** A SearchSpace, or the same as untrusted JSON (validated). */
  space: SearchSpace | unknown;
  /** Default: TPE with Optuna's defaults. A JSON spec is accepted too. */
  sampler?: Sampler | SamplerSpec | SamplerSpec['type'];
  /** Default: no pruning. */
  pruner?: Pruner | PrunerSpec | PrunerSpec['type'];
  direction: Direction;
  /** Default 0. */
  seed?: number;
  /** Trials run at once (default 1). */
  parallelism?: number;
}

/** What the objective gets. */
export interface Trial {
  readonly number: number;
  readonly params: Readonly<Params>;
  /** A seed for the objective's own randomness, derived from the study seed and the number. */
  readonly seed: number;
  /** The optimize call's signal, if any: a long objective should stop when it fires. */
  readonly signal: AbortSignal | undefined;
  /** Records the intermediate value at `step` (a non-negative integer, e.g. rounds so far). */
  report(step: number, value: number): void;
  /** Whether the pruner would stop the trial now (false without a pruner). */
  shouldPrune(): boolean;
  /** Throws TrialPruned when shouldPrune() holds. */
  pruneIfNeeded(): void;
}

export type Objective = (trial: Trial) => Promise<number> | number;

export interface OptimizeOptions {
  nTrials: number;
  /** Stops starting trials when aborted; running trials are awaited (they see trial.signal). */
  signal?: AbortSignal;
  /** Called as each trial finishes (in finishing order), awaited before its slot is reused. */
  onTrialComplete?: (trial: TrialRecord) => void | Promise<void>;
}

export interface OptimizeResult {
  /** The trials this call ran. */
  trials: TrialRecord[];
  bestTrial: TrialRecord | undefined;
  stoppedBy: 'n-trials' | 'signal' | 'grid-exhausted';
}

export interface StudyJSON {
  direction: Direction;
  seed: number;
  parallelism: number;
  sampler: string;
  pruner: string;
  space: SearchSpace;
  trials: TrialRecord[];
  bestTrial: TrialRecord | null;
}

function copyRecord(r: TrialRecord): TrialRecord {
  return structuredClone(r);
}

function argError(parameter: string, message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', message, { parameter });
}

export class Study {
  readonly direction: Direction;
  readonly seed: number;
  readonly parallelism: number;
  readonly space: CompiledSpace;
  private readonly sampler: Sampler;
  private readonly bound: BoundSampler;
  private readonly pruner: Pruner;
  private readonly records: TrialRecord[] = [];
  private optimizing = false;

  constructor(options: StudyOptions) {
    if (options.direction !== 'maximize' && options.direction !== 'minimize') {
      throw argError(
        'direction',
        `direction must be 'maximize' or 'minimize', got ${JSON.stringify(options.direction)}`,
      );
    }
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw argError('seed', `seed must be an integer, got ${seed}`);
    const parallelism = options.parallelism ?? 1;
    if (!Number.isInteger(parallelism) || parallelism < 1) {
      throw argError('parallelism', `parallelism must be an integer ≥ 1, got ${parallelism}`);
    }
    this.direction = options.direction;
    this.seed = seed;
    this.parallelism = parallelism;
    this.space = compileSpace(options.space);
    const sampler = options.sampler ?? tpeSampler();
    this.sampler = typeof sampler === 'object' && 'bind' in sampler ? sampler : createSampler(sampler);
    this.bound = this.sampler.bind(this.space, deriveSeed(seed, 0x67726964));
    const pruner = options.pruner ?? noPruner();
    this.pruner = typeof pruner === 'object' && 'shouldPrune' in pruner ? pruner : createPruner(pruner);
  }

  /** Every trial so far (running ones included), as copies. */
  get trials(): TrialRecord[] {
    return this.records.map(copyRecord);
  }

  /** The best complete trial (the lowest number among ties), or undefined when none completed. */
  get bestTrial(): TrialRecord | undefined {
    const best = this.best(this.records);
    return best && copyRecord(best);
  }

  private best(records: readonly TrialRecord[]): TrialRecord | undefined {
    let best: TrialRecord | undefined;
    for (const r of records) {
      if (r.state !== 'complete') continue;
      if (best === undefined || better(this.direction, r.value!, best.value!)) best = r;
    }
    return best;
  }

  toJSON(): StudyJSON {
    return {
      direction: this.direction,
      seed: this.seed,
      parallelism: this.parallelism,
      sampler: this.sampler.name,
      pruner: this.pruner.name,
      space: structuredClone(this.space.spec),
      trials: this.trials,
      bestTrial: this.bestTrial ?? null,
    };
  }

  /**
   * Runs nTrials more trials (fewer when a grid runs out or the signal fires). A failing
   * objective marks its trial failed and the study goes on; if every trial of the call failed,
   * the first failure's error is thrown (the trials stay recorded).
   */
  async optimize(objective: Objective, options: OptimizeOptions): Promise<OptimizeResult> {
    const { nTrials, signal, onTrialComplete } = options;
    if (!Number.isInteger(nTrials) || nTrials < 0) {
      throw argError('nTrials', `nTrials must be a non-negative integer, got ${nTrials}`);
    }
    if (this.optimizing) {
      throw new FalajError(
        'FALAJ_CONFLICT',
        'this study is already optimizing; wait for the running call to finish',
      );
    }
    this.optimizing = true;
    try {
      return await this.run(objective, nTrials, signal, onTrialComplete);
    } finally {
      this.optimizing = false;
    }
  }

  private async run(
    objective: Objective,
    nTrials: number,
    signal: AbortSignal | undefined,
    onTrialComplete: OptimizeOptions['onTrialComplete'],
  ): Promise<OptimizeResult> {
    const p = this.parallelism;
    const callStart = this.records.length;
    let end = callStart + nTrials;
    const capacity = this.bound.capacity;
    if (capacity !== undefined) end = Math.min(end, capacity);

    const finished = new Set<number>();
    let prefix = callStart; // the lowest trial number of this call not yet finished
    let waiter: (() => void) | undefined;
    const wake = () => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };
    signal?.addEventListener('abort', wake);
    const failures = new Map<number, unknown>();
    // A throwing onTrialComplete or sampler stops the call: no new trials, running ones awaited.
    let stopError: { error: unknown } | undefined;
    const tasks: Promise<void>[] = [];

    const runTrial = async (n: number): Promise<void> => {
      // Everything numbered below max(callStart, n - p + 1) has finished: the snapshot.
      const history = this.records.slice(0, Math.max(callStart, n - p + 1));
      let params: Params;
      try {
        params = this.bound.sample({
          space: this.space,
          trialNumber: n,
          history,
          direction: this.direction,
          random: new Random(deriveSeed(this.seed, n, 1)),
        });
        checkParams(this.space, params);
      } catch (err) {
        stopError ??= { error: err };
        wake();
        return;
      }
      const record: TrialRecord = {
        number: n,
        params,
        state: 'running',
        value: null,
        intermediateValues: [],
        durationMs: null,
        seed: deriveSeed(this.seed, n, 2),
      };
      this.records.push(record);
      const handle = new TrialHandle(record, history, this.pruner, this.direction, signal);
      const t0 = performance.now();
      try {
        const value = await objective(handle);
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new Error(`the objective returned ${String(value)}, not a finite number`);
        }
        record.value = value;
        record.state = 'complete';
      } catch (err) {
        if (isTrialPruned(err)) {
          record.state = 'pruned';
          record.value = record.intermediateValues[record.intermediateValues.length - 1]?.value ?? null;
        } else {
          record.state = 'failed';
          record.error = err instanceof Error ? err.message : String(err);
          failures.set(n, err);
        }
      }
      handle.close();
      record.durationMs = performance.now() - t0;
      try {
        await onTrialComplete?.(copyRecord(record));
      } catch (err) {
        stopError ??= { error: err };
      }
      finished.add(n);
      while (finished.has(prefix)) prefix++;
      wake();
    };

    let next = callStart;
    while (next < end && !signal?.aborted && stopError === undefined) {
      if (prefix <= next - p) {
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
        continue;
      }
      tasks.push(runTrial(next));
      next++;
    }
    try {
      await Promise.all(tasks);
    } finally {
      signal?.removeEventListener('abort', wake);
    }
    if (stopError !== undefined) throw stopError.error;
    const ran = this.records.slice(callStart);
    if (ran.length > 0 && failures.size === ran.length) {
      throw failures.get(callStart);
    }
    return {
      trials: ran.map(copyRecord),
      bestTrial: this.bestTrial,
      stoppedBy: next === callStart + nTrials ? 'n-trials' : next >= end ? 'grid-exhausted' : 'signal',
    };
  }
}

class TrialHandle implements Trial {
  readonly number: number;
  readonly params: Readonly<Params>;
  readonly seed: number;
  private closed = false;

  constructor(
    private readonly record: TrialRecord,
    private readonly history: readonly TrialRecord[],
    private readonly pruner: Pruner,
    private readonly direction: Direction,
    readonly signal: AbortSignal | undefined,
  ) {
    this.number = record.number;
    this.params = Object.freeze({ ...record.params });
    this.seed = record.seed;
  }

  close(): void {
    this.closed = true;
  }

  report(step: number, value: number): void {
    if (this.closed) throw argError('step', `trial ${this.number} has finished; it cannot report any more`);
    if (!Number.isSafeInteger(step) || step < 0) {
      throw argError('step', `trial ${this.number}: step must be a non-negative integer, got ${step}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw argError(
        'value',
        `trial ${this.number}: the value at step ${step} must be a finite number, got ${value}`,
      );
    }
    const ivs: IntermediateValue[] = this.record.intermediateValues;
    const last = ivs[ivs.length - 1];
    // Steps must grow: resources only accumulate, and the pruners read the last report as "now".
    if (last !== undefined && step <= last.step) {
      throw argError('step', `trial ${this.number}: step ${step} was reported after step ${last.step}`);
    }
    ivs.push({ step, value });
  }

  shouldPrune(): boolean {
    if (this.closed) return false;
    return this.pruner.shouldPrune({
      direction: this.direction,
      trialNumber: this.number,
      intermediateValues: this.record.intermediateValues,
      history: this.history,
    });
  }

  pruneIfNeeded(): void {
    if (this.shouldPrune()) throw new TrialPruned(`trial ${this.number} pruned`);
  }
}

export function createStudy(options: StudyOptions): Study {
  return new Study(options);
}
