// Quota accounting with Kueue's cohort rules. Each project's nominal quota splits into a
// guaranteed part (nominal − lending limit, usable only by the project) and a lendable part
// that joins the queue's pool. A project's usage above its guaranteed part draws on the pool;
// a job is admissible when the project stays under nominal + borrowing limit and the pool's
// draws stay under the pool. With no lending limits this is simply Σ usage ≤ Σ nominal.
import { CPU, MEMORY, type Tenant } from './model.js';

/** Tolerance for fractional CPUs. */
export const EPS = 1e-9;

/** What a job asks for in all (per node × nodes), with its GPUs on one GPU resource. */
export interface Demand {
  readonly cpu: number;
  readonly memory: number;
  /** Resource index of the GPU type, −1 for CPU-only jobs. */
  readonly gpuRes: number;
  readonly gpus: number;
}

export type QuotaBlockKind = 'unlisted' | 'never' | 'ceiling' | 'cohort';

/** Why a demand does not fit a project's quota now, on which resource. */
export interface QuotaBlock {
  readonly resource: number;
  readonly kind: QuotaBlockKind;
  readonly amount: number;
}

function draw(t: Tenant, r: number, usage: number): number {
  return Math.max(0, usage - (t.guaranteed[r] as number));
}

/** Adds `amount` (negative to release) of resource r to the project's usage and the pool's draw. */
export function charge(t: Tenant, r: number, amount: number): void {
  const u = t.usage[r] as number;
  const next = u + amount;
  t.queue.poolUsed[r] = (t.queue.poolUsed[r] as number) + draw(t, r, next) - draw(t, r, u);
  t.usage[r] = next;
}

export function chargeDemand(t: Tenant, d: Demand, sign: 1 | -1): void {
  if (d.cpu > 0) charge(t, CPU, sign * d.cpu);
  if (d.memory > 0) charge(t, MEMORY, sign * d.memory);
  if (d.gpus > 0) charge(t, d.gpuRes, sign * d.gpus);
}

/** The most of resource r the project could ever hold in its queue. */
export function maxUsable(t: Tenant, r: number): number {
  return Math.min(t.ceiling[r] as number, (t.guaranteed[r] as number) + (t.queue.pool[r] as number));
}

/** What is left in the pool for this project to draw on (0 when it is at its borrowing limit). */
export function lendableNow(t: Tenant, r: number): number {
  return Math.max(0, (t.queue.pool[r] as number) - (t.queue.poolUsed[r] as number));
}

/** `held` is quota set aside on top of the usage (a blocked head's, see schedule.ts). */
function blockOn(t: Tenant, r: number, amount: number, held: number): QuotaBlock | undefined {
  if (amount <= 0) return undefined;
  if (t.listed[r] !== 1) return { resource: r, kind: 'unlisted', amount };
  if (amount > maxUsable(t, r) + EPS) return { resource: r, kind: 'never', amount };
  const u0 = t.usage[r] as number;
  const u = u0 + held;
  if (u + amount > (t.ceiling[r] as number) + EPS) return { resource: r, kind: 'ceiling', amount };
  const used = (t.queue.poolUsed[r] as number) + draw(t, r, u) - draw(t, r, u0);
  const extra = draw(t, r, u + amount) - draw(t, r, u);
  if (used + extra > (t.queue.pool[r] as number) + EPS) return { resource: r, kind: 'cohort', amount };
  return undefined;
}

function heldOn(held: Demand | undefined, r: number): number {
  if (held === undefined) return 0;
  return r === CPU ? held.cpu : r === MEMORY ? held.memory : r === held.gpuRes ? held.gpus : 0;
}

/**
 * The first resource on which the demand does not fit now (with `held` set aside first), or
 * undefined when it fits.
 */
export function quotaBlock(t: Tenant, d: Demand, held?: Demand): QuotaBlock | undefined {
  return (
    (d.gpus > 0 ? blockOn(t, d.gpuRes, d.gpus, heldOn(held, d.gpuRes)) : undefined) ??
    blockOn(t, CPU, d.cpu, heldOn(held, CPU)) ??
    blockOn(t, MEMORY, d.memory, heldOn(held, MEMORY))
  );
}

/** Whether the project would hold more than its nominal quota of some resource with the demand. */
export function wouldBorrow(t: Tenant, d: Demand): boolean {
  const over = (r: number, a: number) => a > 0 && (t.usage[r] as number) + a > (t.nominal[r] as number) + EPS;
  return over(CPU, d.cpu) || over(MEMORY, d.memory) || (d.gpus > 0 && over(d.gpuRes, d.gpus));
}

/** Whether the project holds more than its nominal quota of resource r now. */
export function borrowsNow(t: Tenant, r: number): boolean {
  return (t.usage[r] as number) > (t.nominal[r] as number) + EPS;
}

/** The project's largest share of any one resource of the cluster (DRF's dominant share). */
export function dominantShare(t: Tenant, capacity: Float64Array): number {
  let s = 0;
  for (let r = 0; r < capacity.length; r++) {
    const c = capacity[r] as number;
    if (c > 0) s = Math.max(s, (t.usage[r] as number) / c);
  }
  return s;
}
