// What a deployment serves and how, as one plain object kept whole in each revision: the model
// (by alias, followed when the alias moves, or by version), an optional canary and shadow, the
// automatic rollback of a canary, the request log's policy and where it runs. Pure: parsing
// and the changes an update makes, no store.
import { FalajError } from '../../core/errors.js';

export interface CanarySpec {
  /** MODEL@VERSION or MODEL@ALIAS (any form src/registry/model-uri.ts reads). */
  readonly model: string;
  /** Share of requests (0 < percent < 100) the canary answers. */
  readonly percent: number;
}

export interface AutoRollbackSpec {
  /** Roll back when the canary's error rate over the window is above this (0..1). */
  readonly maxErrorRate: number;
  /** Roll back when the canary's p99 latency over the window is above this (ms). */
  readonly maxP99Ms: number;
  readonly windowSeconds: number;
  /** The canary is judged only once the window holds this many of its requests. */
  readonly minRequests: number;
}

export type PiiPolicy = 'hash' | 'drop' | 'keep';

export interface LogSpec {
  /** Share of requests logged (0..1); failed requests are always logged. */
  readonly sample: number;
  /** What the request log does with input columns tagged PII in the training data. */
  readonly pii: PiiPolicy;
}

/** embedded: the API servers answer; replicas: `falaj serve` processes answer, the servers route to them. */
export type Placement = 'embedded' | 'replicas';

export interface DeploymentSpec {
  readonly model: string;
  readonly canary: CanarySpec | null;
  readonly shadow: { readonly model: string } | null;
  readonly autoRollback: AutoRollbackSpec | null;
  readonly log: LogSpec;
  readonly placement: Placement;
}

export const DEFAULT_LOG: LogSpec = { sample: 1, pii: 'hash' };
export const DEFAULT_AUTO_ROLLBACK: AutoRollbackSpec = {
  maxErrorRate: 0.05,
  maxP99Ms: 250,
  windowSeconds: 60,
  minRequests: 50,
};

/** A change to a deployment: absent fields keep their value, null removes a canary or shadow. */
export interface SpecChange {
  model?: string;
  canary?: CanarySpec | null;
  shadow?: { model: string } | null;
  autoRollback?: Partial<AutoRollbackSpec> | null;
  log?: Partial<LogSpec>;
  placement?: Placement;
  /** The canary's model becomes the model and the canary is removed. */
  promoteCanary?: boolean;
}

function invalid(message: string, field: string): FalajError {
  return new FalajError('FALAJ_DEPLOYMENT_INVALID', message, { field });
}

function modelRef(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 600)
    throw invalid(`${field}: a model reference MODEL@VERSION or MODEL@ALIAS`, field);
  return value;
}

function percentOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 100)
    throw invalid('canary.percent: a number above 0 and below 100', 'canary.percent');
  return value;
}

function autoRollbackOf(base: AutoRollbackSpec, change: Partial<AutoRollbackSpec>): AutoRollbackSpec {
  const out = { ...base, ...change };
  const check = (ok: boolean, field: string, what: string) => {
    if (!ok) throw invalid(`autoRollback.${field}: ${what}`, `autoRollback.${field}`);
  };
  check(out.maxErrorRate >= 0 && out.maxErrorRate <= 1, 'maxErrorRate', 'between 0 and 1');
  check(out.maxP99Ms > 0 && Number.isFinite(out.maxP99Ms), 'maxP99Ms', 'a positive number of ms');
  check(
    Number.isInteger(out.windowSeconds) && out.windowSeconds >= 5 && out.windowSeconds <= 86_400,
    'windowSeconds',
    'an integer from 5 to 86400',
  );
  check(
    Number.isInteger(out.minRequests) && out.minRequests >= 1 && out.minRequests <= 1_000_000,
    'minRequests',
    'an integer from 1 to 1000000',
  );
  return out;
}

function logOf(base: LogSpec, change: Partial<LogSpec>): LogSpec {
  const out = { ...base, ...change };
  if (!(typeof out.sample === 'number' && out.sample >= 0 && out.sample <= 1))
    throw invalid('log.sample: a share from 0 to 1', 'log.sample');
  if (!['hash', 'drop', 'keep'].includes(out.pii)) throw invalid('log.pii: hash, drop or keep', 'log.pii');
  return out;
}

/** The spec a change makes of `base` (a new deployment's base is undefined). Throws FALAJ_DEPLOYMENT_INVALID. */
export function applyChange(base: DeploymentSpec | undefined, change: SpecChange): DeploymentSpec {
  let model = change.model !== undefined ? modelRef(change.model, 'model') : base?.model;
  if (model === undefined) throw invalid('model: required (MODEL@VERSION or MODEL@ALIAS)', 'model');
  let canary =
    change.canary === undefined
      ? (base?.canary ?? null)
      : change.canary === null
        ? null
        : { model: modelRef(change.canary.model, 'canary.model'), percent: percentOf(change.canary.percent) };
  if (change.promoteCanary) {
    if (change.canary !== undefined || change.model !== undefined)
      throw invalid('promoteCanary: not together with a new model or canary', 'promoteCanary');
    if (!canary) throw invalid('promoteCanary: the deployment has no canary to promote', 'promoteCanary');
    model = canary.model;
    canary = null;
  }
  const shadow =
    change.shadow === undefined
      ? (base?.shadow ?? null)
      : change.shadow === null
        ? null
        : { model: modelRef(change.shadow.model, 'shadow.model') };
  const autoRollback =
    change.autoRollback === undefined
      ? (base?.autoRollback ?? null)
      : change.autoRollback === null
        ? null
        : autoRollbackOf(base?.autoRollback ?? DEFAULT_AUTO_ROLLBACK, change.autoRollback);
  const log = logOf(base?.log ?? DEFAULT_LOG, change.log ?? {});
  const placement = change.placement ?? base?.placement ?? 'embedded';
  if (placement !== 'embedded' && placement !== 'replicas')
    throw invalid('placement: embedded or replicas', 'placement');
  return { model, canary, shadow, autoRollback, log, placement };
}

/** A stored spec, read back (revisions are written by applyChange only). */
export function parseStoredSpec(json: string): DeploymentSpec {
  return applyChange(undefined, JSON.parse(json) as SpecChange);
}

/** The model references a spec names, by variant. */
export function specModels(
  spec: DeploymentSpec,
): { variant: 'primary' | 'canary' | 'shadow'; ref: string }[] {
  const out: { variant: 'primary' | 'canary' | 'shadow'; ref: string }[] = [
    { variant: 'primary', ref: spec.model },
  ];
  if (spec.canary) out.push({ variant: 'canary', ref: spec.canary.model });
  if (spec.shadow) out.push({ variant: 'shadow', ref: spec.shadow.model });
  return out;
}
