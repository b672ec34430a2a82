// Weighted fair share between projects, DRF-style: a project's dominant share is the largest
// fraction of any one resource of the cluster (CPU, memory, or one GPU type) it holds. The next
// job to consider comes from the project with the lowest
//     (dominant share now + historyWeight · decayed average dominant share) / weight,
// so the current share evens out admissions within a pass and the history repays, over hours,
// a project that got less than its weight, or takes back from one that got more: a project of
// 8-GPU jobs swings between 1 and 2 nodes, and is admitted whenever it is lowest — without the
// history it ends above its weight (see DEFAULT_HISTORY_WEIGHT).
// The caller keeps the history: after each pass (or on a timer) it calls accrueUsage with the
// shares the decision reports and the seconds elapsed, and stores the result.

import type { NodeCapacity } from '../types.js';
import type { Tenant } from './model.js';
import { PassState } from './pass-state.js';
import type { RunningJob, SchedulerConfig, TenantShare, UsageHistory } from './types.js';
import { invalid, validateSnapshot } from './validate.js';

export const DEFAULT_HALF_LIFE_SECONDS = 3600;

export function fairKey(t: Tenant, historyWeight: number): number {
  return (t.dominantShare + historyWeight * t.history) / t.weight;
}

export function tenantShares(st: PassState): TenantShare[] {
  const keys = st.model.resourceKeys;
  return st.model.tenants.map((t) => {
    const usage: Record<string, number> = {};
    t.usage.forEach((u, r) => {
      if (u > 0) usage[keys[r] as string] = u;
    });
    return {
      queue: t.queue.name,
      project: t.project,
      weight: t.weight,
      dominantShare: t.dominantShare,
      usage,
    };
  });
}

/** Each project's share of the cluster held by the given running jobs (without scheduling). */
export function currentShares(
  config: SchedulerConfig,
  nodes: readonly NodeCapacity[],
  running: readonly RunningJob[],
): TenantShare[] {
  const snapshot = { now: 0, config, nodes, running, pending: [] };
  validateSnapshot(snapshot);
  return tenantShares(new PassState(snapshot));
}

/**
 * The history after `elapsedSeconds` during which the projects held `shares`: an exponential
 * moving average with the given half-life, so one hour ago counts half as much as now.
 */
export function accrueUsage(
  history: UsageHistory | undefined,
  shares: readonly TenantShare[],
  elapsedSeconds: number,
  halfLifeSeconds = DEFAULT_HALF_LIFE_SECONDS,
): UsageHistory {
  if (!Number.isFinite(elapsedSeconds) || elapsedSeconds < 0) {
    throw invalid('elapsedSeconds', `must be a finite number ≥ 0, got ${elapsedSeconds}`);
  }
  if (!Number.isFinite(halfLifeSeconds) || halfLifeSeconds <= 0) {
    throw invalid('halfLifeSeconds', `must be a finite number > 0, got ${halfLifeSeconds}`);
  }
  const keep = 0.5 ** (elapsedSeconds / halfLifeSeconds);
  const out: Record<string, Record<string, number>> = {};
  for (const [queue, projects] of Object.entries(history ?? {})) {
    out[queue] = {};
    for (const [project, h] of Object.entries(projects))
      (out[queue] as Record<string, number>)[project] = h * keep;
  }
  for (const s of shares) {
    const q = out[s.queue] ?? {};
    out[s.queue] = q;
    q[s.project] = (q[s.project] ?? 0) + s.dominantShare * (1 - keep);
  }
  return out;
}
