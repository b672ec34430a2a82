// The words a user reads when a job waits: `falaj jobs show` prints these as they are, so they
// name the numbers (asked, quota, used, left to lend) rather than a code.
import { CPU, MEMORY, type Model, type Tenant } from './model.js';
import type { Share } from './node-pool.js';
import { lendableNow, maxUsable, type QuotaBlock } from './quota.js';

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
}

export function bytes(x: number): string {
  const GiB = 1024 ** 3;
  if (x === 0) return '0';
  if (x >= GiB) return `${num(x / GiB)} GiB`;
  return `${num(x / 1024 ** 2)} MiB`;
}

/** A bare quantity of a resource, as quotas are written ("8", "1.5", "64 GiB"). */
export function quantity(r: number, x: number): string {
  return r === MEMORY ? bytes(x) : num(x);
}

/** A quantity with what it is ("16 CPUs", "64 GiB of memory", "4 GPUs of type h100"). */
export function amount(model: Model, r: number, x: number): string {
  if (r === CPU) return `${num(x)} CPU${x === 1 ? '' : 's'}`;
  if (r === MEMORY) return `${bytes(x)} of memory`;
  return `${num(x)} GPU${x === 1 ? '' : 's'} of type ${model.gpuTypes[r - 2]}`;
}

/** "4 GPUs of type h100, 16 CPUs and 64 GiB of memory" (the per-node share). */
export function shareText(model: Model, s: Share): string {
  const parts: string[] = [];
  if (s.gpus > 0) parts.push(amount(model, s.gpuRes, s.gpus));
  if (s.cpu > 0) parts.push(amount(model, CPU, s.cpu));
  if (s.memory > 0) parts.push(amount(model, MEMORY, s.memory));
  return parts.length <= 1 ? (parts[0] ?? 'nothing') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

function resourceName(model: Model, r: number): string {
  return r === CPU ? 'CPU' : r === MEMORY ? 'memory' : `GPU type ${model.gpuTypes[r - 2]}`;
}

/** Why the project's quota does not take the demand (impossible for 'unlisted' and 'never'). */
export function quotaReason(model: Model, t: Tenant, b: QuotaBlock): string {
  const r = b.resource;
  const where = `project ${t.project} in queue ${t.queue.name}`;
  switch (b.kind) {
    case 'unlisted':
      return `${where} has no quota for ${resourceName(model, r)}`;
    case 'never':
      return `asks for ${amount(model, r, b.amount)} but ${where} can hold at most ${quantity(r, maxUsable(t, r))} (nominal quota plus what it may borrow)`;
    case 'ceiling':
      return (
        `waiting for ${amount(model, r, b.amount)}; project quota ${quantity(r, t.nominal[r] as number)} ` +
        `used ${quantity(r, t.usage[r] as number)}, borrowing limit ${quantity(r, (t.ceiling[r] as number) - (t.nominal[r] as number))} reached`
      );
    case 'cohort':
      return (
        `waiting for ${amount(model, r, b.amount)}; project quota ${quantity(r, t.nominal[r] as number)} ` +
        `used ${quantity(r, t.usage[r] as number)}, queue has ${quantity(r, lendableNow(t, r))} to lend`
      );
  }
}

export function nodesText(count: number, what: string): string {
  return count === 1 ? `a node with ${what}` : `${count} nodes each with ${what}`;
}

export function timeText(at: number): string {
  return Number.isFinite(at)
    ? new Date(at).toISOString()
    : 'an unknown time (jobs without a time limit hold them)';
}
