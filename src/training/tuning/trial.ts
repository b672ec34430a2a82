// What a trial is once recorded, shared by the study, the samplers and the pruners.
import type { Params } from './space.js';

export type Direction = 'maximize' | 'minimize';
export type TrialState = 'running' | 'complete' | 'pruned' | 'failed';

export interface IntermediateValue {
  step: number;
  value: number;
}

/** One trial as plain JSON. */
export interface TrialRecord {
  number: number;
  params: Params;
  state: TrialState;
  /** The objective's value; for a pruned trial the last intermediate value (null if none). */
  value: number | null;
  /** Sorted by step. */
  intermediateValues: IntermediateValue[];
  /** The failure message of a failed trial. */
  error?: string;
  durationMs: number | null;
  /** The seed handed to the objective for its own randomness (derived from the study seed and number). */
  seed: number;
}

/** Thrown by an objective (or by `trial.pruneIfNeeded()`) to end the trial as pruned. */
export class TrialPruned extends Error {
  constructor(message = 'trial pruned') {
    super(message);
    this.name = 'TrialPruned';
  }
}

export function isTrialPruned(err: unknown): boolean {
  return err instanceof TrialPruned || (err instanceof Error && err.name === 'TrialPruned');
}

/** Whether `a` is a better objective value than `b` in this direction. */
export function better(direction: Direction, a: number, b: number): boolean {
  return direction === 'minimize' ? a < b : a > b;
}

/** Sort comparator putting the best values first. */
export function bestFirst(direction: Direction): (a: number, b: number) => number {
  return direction === 'minimize' ? (a, b) => a - b : (a, b) => b - a;
}

/** Derives an independent 32-bit seed from several integers (murmur3's finaliser as the mixer). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
