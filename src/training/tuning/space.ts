// The search space: plain JSON so the CLI (`--tune` with a JSON space) and the HTTP API can send
// it as is. A space maps parameter names to specs; a spec may carry `when`, which makes the
// parameter active only while parent categorical parameters take the listed values.
import { FalajError } from '../../core/errors.js';

export type ChoiceValue = string | number | boolean | null;
/** Parameter values as an objective receives them; inactive conditional parameters are absent. */
export type Params = Record<string, ChoiceValue>;
/** `{ booster: 'gbdt' }` or `{ booster: ['gbdt', 'dart'] }`; several keys must all hold. */
export type Condition = Record<string, ChoiceValue | ChoiceValue[]>;

export interface IntParam {
  type: 'int';
  low: number;
  high: number;
  /** Default 1; with `log`, only 1 is allowed. */
  step?: number;
  log?: boolean;
  when?: Condition;
}

export interface FloatParam {
  type: 'float';
  low: number;
  high: number;
  /** Values are low + k·step ≤ high; not allowed with `log`. */
  step?: number;
  log?: boolean;
  when?: Condition;
}

export interface CategoricalParam {
  type: 'categorical';
  choices: ChoiceValue[];
  when?: Condition;
}

export type ParamSpec = IntParam | FloatParam | CategoricalParam;
export type SearchSpace = Record<string, ParamSpec>;

interface NumericOptions {
  step?: number;
  log?: boolean;
  when?: Condition;
}

export function int(low: number, high: number, options: NumericOptions = {}): IntParam {
  return { type: 'int', low, high, ...options };
}

export function float(low: number, high: number, options: NumericOptions = {}): FloatParam {
  return { type: 'float', low, high, ...options };
}

export function categorical(choices: ChoiceValue[], options: { when?: Condition } = {}): CategoricalParam {
  return { type: 'categorical', choices: [...choices], ...options };
}

/**
 * A numeric parameter as samplers see it. Samplers work in an "internal" coordinate: the log of
 * the value for log parameters, and for discrete ones (ints, stepped floats) a range widened by
 * half a step on each side so that rounding gives every value an equal share.
 */
export interface NumericDomain {
  readonly kind: 'int' | 'float';
  readonly low: number;
  /** The largest reachable value (high rounded down onto the step grid). */
  readonly high: number;
  /** Undefined for continuous floats. */
  readonly step: number | undefined;
  readonly log: boolean;
  /** Internal bounds. */
  readonly lo: number;
  readonly hi: number;
}

export interface CompiledParam {
  readonly name: string;
  readonly spec: ParamSpec;
  /** Parent name → allowed values. */
  readonly when: ReadonlyMap<string, readonly ChoiceValue[]>;
  readonly numeric: NumericDomain | undefined;
}

/** A validated space with its parameters in an order where parents come before children. */
export interface CompiledSpace {
  readonly spec: SearchSpace;
  readonly order: readonly string[];
  readonly params: ReadonlyMap<string, CompiledParam>;
}

function invalid(parameter: string, reason: string): FalajError {
  return new FalajError(
    'FALAJ_INVALID_ARGUMENT',
    `impossible search space: parameter '${parameter}' ${reason}`,
    { parameter, reason },
  );
}

function isChoice(v: unknown): v is ChoiceValue {
  return (
    v === null ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v))
  );
}

const KEYS: Record<ParamSpec['type'], readonly string[]> = {
  int: ['type', 'low', 'high', 'step', 'log', 'when'],
  float: ['type', 'low', 'high', 'step', 'log', 'when'],
  categorical: ['type', 'choices', 'when'],
};

function checkNumber(name: string, field: string, v: unknown, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(name, `needs a finite number ${field}`);
  if (integer && !Number.isInteger(v)) throw invalid(name, `needs an integer ${field}, got ${v}`);
  return v;
}

/** Rounds away the floating-point dust of low + k·step so values print as the user wrote them. */
export function tidy(v: number): number {
  return Number(v.toPrecision(14));
}

function compileNumeric(name: string, raw: Record<string, unknown>, kind: 'int' | 'float'): NumericDomain {
  const integer = kind === 'int';
  const low = checkNumber(name, 'low', raw.low, integer);
  const high = checkNumber(name, 'high', raw.high, integer);
  if (low > high) throw invalid(name, `has low (${low}) greater than high (${high})`);
  if (raw.log !== undefined && typeof raw.log !== 'boolean') throw invalid(name, 'needs a boolean log');
  const log = raw.log === true;
  if (log && low <= 0) throw invalid(name, `is on a log scale but low (${low}) is not positive`);
  let step: number | undefined;
  if (raw.step !== undefined) {
    step = checkNumber(name, 'step', raw.step, integer);
    if (step <= 0) throw invalid(name, `needs a positive step, got ${step}`);
  }
  if (integer) step ??= 1;
  if (log && step !== undefined && step !== 1) throw invalid(name, 'cannot have both log and a step');
  if (log && kind === 'float' && step !== undefined) throw invalid(name, 'cannot have both log and a step');
  const effectiveHigh = step === undefined ? high : tidy(low + Math.floor((high - low) / step + 1e-9) * step);
  const half = step === undefined ? 0 : step / 2;
  // Log ints: widen by half a unit before taking the log so that rounding stays fair at the ends.
  const lo = log ? Math.log(low - half) : low - half;
  const hi = log ? Math.log(effectiveHigh + half) : effectiveHigh + half;
  return { kind, low, high: effectiveHigh, step, log, lo, hi };
}

/**
 * Validates a space (from TypeScript or untrusted JSON) and orders it. Every impossibility is a
 * FALAJ_INVALID_ARGUMENT naming the parameter: low > high, log with low ≤ 0, a bad step, empty
 * or duplicate choices, unknown fields, a condition on an unknown or non-categorical parameter or
 * on a value the parent cannot take, and conditions that form a cycle.
 */
export function compileSpace(input: unknown): CompiledSpace {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'a search space must be an object of parameter specs', {
      parameter: 'space',
    });
  }
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) {
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'a search space needs at least one parameter', {
      parameter: 'space',
    });
  }
  const specs = new Map<string, Record<string, unknown>>();
  for (const [name, raw] of entries) {
    if (name === '') throw invalid(name, 'has an empty name');
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw invalid(name, 'is not an object');
    const r = raw as Record<string, unknown>;
    if (r.type !== 'int' && r.type !== 'float' && r.type !== 'categorical') {
      throw invalid(name, `has type ${JSON.stringify(r.type)}; expected int, float or categorical`);
    }
    for (const key of Object.keys(r)) {
      if (!KEYS[r.type].includes(key)) throw invalid(name, `has an unknown field '${key}'`);
    }
    specs.set(name, r);
  }

  const compiled = new Map<string, CompiledParam>();
  for (const [name, r] of specs) {
    let spec: ParamSpec;
    let numeric: NumericDomain | undefined;
    if (r.type === 'categorical') {
      if (!Array.isArray(r.choices) || r.choices.length === 0) throw invalid(name, 'has no choices');
      const seen = new Set<string>();
      for (const c of r.choices) {
        if (!isChoice(c)) throw invalid(name, `has a choice that is not a string, number, boolean or null`);
        const key = JSON.stringify(c);
        if (seen.has(key)) throw invalid(name, `lists the choice ${key} twice`);
        seen.add(key);
      }
      spec = { type: 'categorical', choices: [...(r.choices as ChoiceValue[])] };
    } else {
      const kind = r.type as 'int' | 'float';
      numeric = compileNumeric(name, r, kind);
      const ranged: IntParam | FloatParam = { type: kind, low: numeric.low, high: r.high as number };
      if (r.step !== undefined) ranged.step = r.step as number;
      if (r.log === true) ranged.log = true;
      spec = ranged;
    }
    const when = new Map<string, ChoiceValue[]>();
    if (r.when !== undefined) {
      if (r.when === null || typeof r.when !== 'object' || Array.isArray(r.when)) {
        throw invalid(name, 'has a when that is not an object');
      }
      const cond = r.when as Record<string, unknown>;
      if (Object.keys(cond).length === 0) throw invalid(name, 'has an empty when');
      for (const [parent, allowed] of Object.entries(cond)) {
        const p = specs.get(parent);
        if (p === undefined) throw invalid(name, `has a condition on unknown parameter '${parent}'`);
        if (parent === name) throw invalid(name, 'has a condition on itself');
        if (p.type !== 'categorical') {
          throw invalid(name, `has a condition on '${parent}', which is not categorical`);
        }
        const list = Array.isArray(allowed) ? allowed : [allowed];
        if (list.length === 0) throw invalid(name, `has a condition on '${parent}' with no values`);
        const parentChoices = (p.choices as unknown[]).map((c) => JSON.stringify(c));
        for (const v of list) {
          if (!isChoice(v) || !parentChoices.includes(JSON.stringify(v))) {
            throw invalid(
              name,
              `has a condition on '${parent}' = ${JSON.stringify(v)}, which is not a choice`,
            );
          }
        }
        when.set(parent, [...(list as ChoiceValue[])]);
      }
      // Kept as written (a single value or a list) so the space round-trips unchanged.
      spec.when = structuredClone(cond) as Condition;
    }
    compiled.set(name, { name, spec, when, numeric });
  }

  return {
    spec: Object.fromEntries([...compiled].map(([n, p]) => [n, p.spec])),
    order: topoOrder(compiled),
    params: compiled,
  };
}

/** Declaration order, except that a parameter waits for its parents; a cycle is an error. */
function topoOrder(params: Map<string, CompiledParam>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting')
      throw invalid(name, `has conditions that form a cycle (${[...path, name].join(' → ')})`);
    state.set(name, 'visiting');
    for (const parent of params.get(name)!.when.keys()) visit(parent, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of params.keys()) visit(name, []);
  return order;
}

function sameChoice(a: ChoiceValue, b: ChoiceValue | undefined): boolean {
  return a === b || (b !== undefined && JSON.stringify(a) === JSON.stringify(b));
}

/** Whether `name` is active given the values of the parameters before it (absent = inactive). */
export function isActive(space: CompiledSpace, name: string, assigned: Params): boolean {
  const param = space.params.get(name)!;
  for (const [parent, allowed] of param.when) {
    if (!(parent in assigned)) return false;
    const v = assigned[parent];
    if (!allowed.some((a) => sameChoice(a, v))) return false;
  }
  return true;
}

/** Index of a categorical value among its choices (-1 when absent). */
export function choiceIndex(choices: readonly ChoiceValue[], v: ChoiceValue | undefined): number {
  return choices.findIndex((c) => sameChoice(c, v));
}

/** Maps an internal coordinate to a legal value: exp for log, then onto the step grid, clamped. */
export function fromInternal(d: NumericDomain, x: number): number {
  const v = d.log ? Math.exp(x) : x;
  if (d.step === undefined) return Math.min(d.high, Math.max(d.low, v));
  const kMax = Math.round((d.high - d.low) / d.step);
  const k = Math.min(kMax, Math.max(0, Math.round((v - d.low) / d.step)));
  return d.kind === 'int' ? d.low + k * d.step : tidy(d.low + k * d.step);
}

export function toInternal(d: NumericDomain, v: number): number {
  return d.log ? Math.log(v) : v;
}

/**
 * The internal interval that rounds to the discrete value `v` (for likelihoods of ints and
 * stepped floats); undefined for continuous parameters.
 */
export function internalCell(d: NumericDomain, v: number): [number, number] | undefined {
  if (d.step === undefined) return undefined;
  const half = d.step / 2;
  return d.log ? [Math.log(v - half), Math.log(v + half)] : [v - half, v + half];
}

/** Checks that a full assignment is legal for the space (used on custom samplers' output). */
export function checkParams(space: CompiledSpace, params: Params): void {
  for (const name of Object.keys(params)) {
    if (!space.params.has(name)) throw invalid(name, 'was sampled but is not in the space');
  }
  for (const name of space.order) {
    const active = isActive(space, name, params);
    const present = name in params;
    if (active !== present)
      throw invalid(name, active ? 'is active but was not sampled' : 'is inactive but was sampled');
    if (!present) continue;
    const p = space.params.get(name)!;
    const v = params[name];
    if (p.spec.type === 'categorical') {
      if (choiceIndex(p.spec.choices, v) < 0)
        throw invalid(name, `got ${JSON.stringify(v)}, which is not a choice`);
    } else {
      const d = p.numeric!;
      if (typeof v !== 'number' || v < d.low || v > d.high || (d.kind === 'int' && !Number.isInteger(v))) {
        throw invalid(name, `got ${JSON.stringify(v)}, outside [${d.low}, ${d.high}]`);
      }
    }
  }
}
