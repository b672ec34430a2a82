// Choosing preemption victims for a job that cannot be admitted. Two kinds, per the project's
// policy: reclaim (the job's project stays within its nominal quota, and the victims belong to
// other projects of the queue that are borrowing what the job needs) and priority (lower-priority
// jobs of the job's own project). Victims are chosen in preference order — lowest priority
// first, then the most recently started, then by id — and the set is then made minimal:
//   1. nodes: if the job does not fit any nodes, for each node take preferred victims on it until
//      the job's share fits; use the nodes needing the fewest victims (then the lowest-priority
//      ones), as many as the gang needs;
//   2. quota: while the project's quota still does not fit, add the next preferred victim that
//      holds the blocking resource;
//   3. prune: drop every victim, least preferred first, without which the job still fits.
// A victim is a whole job: preempting a gang preempts all its members.

import { CPU, MEMORY, type Tenant } from './model.js';
import type { Share } from './node-pool.js';
import type { Live, PassState, Prepared } from './pass-state.js';
import { borrowsNow, type Demand, EPS, quotaBlock } from './quota.js';

function preferred(a: Live, b: Live): number {
  return a.priority - b.priority || b.startedAt - a.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function demandedResources(d: Demand): number[] {
  const rs: number[] = [];
  if (d.cpu > 0) rs.push(CPU);
  if (d.memory > 0) rs.push(MEMORY);
  if (d.gpus > 0) rs.push(d.gpuRes);
  return rs;
}

/** Whether the job keeps its project within nominal quota on every resource it asks for. */
function withinNominal(t: Tenant, d: Demand): boolean {
  return demandedResources(d).every(
    (r) =>
      (t.usage[r] as number) + (r === CPU ? d.cpu : r === MEMORY ? d.memory : d.gpus) <=
      (t.nominal[r] as number) + EPS,
  );
}

/** Whether `vt` still borrows a resource the job needs once `removed` are gone. */
function stillBorrowing(vt: Tenant, removed: readonly Live[], needs: readonly number[]): boolean {
  return needs.some((r) => {
    let u = vt.usage[r] as number;
    for (const v of removed) if (v.tenant === vt) u -= v.use[r] as number;
    return u > (vt.nominal[r] as number) + EPS;
  });
}

export class VictimSearch {
  constructor(
    private readonly st: PassState,
    private readonly p: Prepared,
    private readonly share: Share,
    private readonly demand: Demand,
  ) {}

  /** The victims to preempt so the job fits, or undefined when no allowed set makes it fit. */
  run(): Live[] | undefined {
    const { st, p, demand } = this;
    const t = p.tenant;
    const needs = demandedResources(demand);
    const reclaim = t.reclaim !== 'never' && withinNominal(t, demand);
    const within = t.within === 'lowerPriority';
    if (!reclaim && !within) return undefined;

    const cands: Live[] = [];
    const usable = (l: Live) =>
      l.victimOk && !l.terminating && !l.fresh && needs.some((r) => (l.use[r] as number) > 0);
    if (within)
      for (const l of st.ofTenant[t.index] ?? []) if (usable(l) && l.priority < p.priority) cands.push(l);
    if (reclaim) {
      for (const vt of t.queue.tenants) {
        if (vt === t || !needs.some((r) => borrowsNow(vt, r))) continue;
        for (const l of st.ofTenant[vt.index] ?? []) {
          if (usable(l) && (t.reclaim === 'any' || l.priority < p.priority)) cands.push(l);
        }
      }
    }
    if (cands.length === 0) return undefined;
    cands.sort(preferred);
    const rank = new Map(cands.map((c, i) => [c, i]));
    const allowed = (c: Live, removed: readonly Live[]) =>
      c.tenant === t || stillBorrowing(c.tenant as Tenant, removed, needs);

    const onNodes = this.nodeVictims(cands, rank, allowed);
    if (onNodes === undefined) return undefined;
    const withQuota = this.quotaVictims(cands, onNodes, allowed);
    if (withQuota === undefined) return undefined;
    let victims: Live[] = withQuota;
    victims.sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number));
    if (!this.fits(victims)) return undefined;
    for (let i = victims.length - 1; i >= 0; i--) {
      const without: Live[] = victims.filter((_, j) => j !== i);
      if (this.fits(without)) victims = without;
    }
    // The per-node choices were made independently: make sure every reclaim victim's project
    // still borrows once the more preferred victims are gone (Kueue's rule), else give up.
    for (let i = 0; i < victims.length; i++) {
      if (!allowed(victims[i] as Live, victims.slice(0, i))) return undefined;
    }
    return victims;
  }

  private nodeVictims(
    cands: readonly Live[],
    rank: ReadonlyMap<Live, number>,
    allowed: (c: Live, removed: readonly Live[]) => boolean,
  ): Live[] | undefined {
    const { st, p, share } = this;
    const pool = st.pool;
    if (pool.find(share, p.nodes, p.end, p.index) !== undefined) return [];
    const byNode = new Map<number, Live[]>();
    for (const c of cands) {
      for (const h of c.holds) {
        const list = byNode.get(h.node) ?? [];
        if (list[list.length - 1] !== c) list.push(c);
        byNode.set(h.node, list);
      }
    }
    const cpuNodes = new Set(pool.cpuOnly);
    const cpuOnly = pool.cpuNodesOnly(share, p.nodes);
    // worst: the highest victim priority; last: the least preferred victim's rank (so among equal
    // choices the node whose jobs started most recently is taken).
    const options: { node: number; victims: Live[]; worst: number; last: number }[] = [];
    for (let node = 0; node < pool.size; node++) {
      if (cpuOnly && !cpuNodes.has(node)) continue;
      if (!pool.couldEverFit(node, share) || !pool.allows(node, share, p.end, p.index)) continue;
      if (pool.fitsNow(node, share)) {
        options.push({ node, victims: [], worst: -Infinity, last: -1 });
        continue;
      }
      const list = byNode.get(node);
      if (list === undefined) continue;
      const resOf = pool.gpuResOf[node] as ReadonlyMap<number, number>;
      let cpu = pool.cpuFree[node] as number;
      let mem = pool.memFree[node] as number;
      let gpus = share.gpus > 0 ? pool.freeGpus(node, share.gpuRes) : 0;
      const local: Live[] = [];
      for (const c of list) {
        if (!allowed(c, local)) continue;
        local.push(c);
        for (const h of c.holds) {
          if (h.node !== node) continue;
          cpu += h.cpu;
          mem += h.memory;
          for (const g of h.gpus) if (resOf.get(g) === share.gpuRes) gpus++;
        }
        if (cpu + EPS >= share.cpu && mem >= share.memory && gpus >= share.gpus) {
          options.push({
            node,
            victims: local,
            worst: Math.max(...local.map((v) => v.priority)),
            last: Math.max(...local.map((v) => rank.get(v) as number)),
          });
          break;
        }
      }
    }
    if (options.length < p.nodes) return undefined;
    options.sort(
      (a, b) =>
        a.victims.length - b.victims.length || a.worst - b.worst || a.last - b.last || a.node - b.node,
    );
    const set = new Set<Live>();
    for (const o of options.slice(0, p.nodes)) for (const v of o.victims) set.add(v);
    return [...set];
  }

  private quotaVictims(
    cands: readonly Live[],
    start: Live[],
    allowed: (c: Live, removed: readonly Live[]) => boolean,
  ): Live[] | undefined {
    const { st, p, demand } = this;
    const victims = [...start];
    const chosen = new Set(victims);
    for (const v of victims) st.chargeLive(v, -1);
    try {
      let block = quotaBlock(p.tenant, demand);
      for (const c of cands) {
        if (block === undefined) break;
        // Usage is already net of the victims so far (released above): nothing more to subtract.
        if (chosen.has(c) || (c.use[block.resource] as number) <= 0 || !allowed(c, [])) continue;
        victims.push(c);
        chosen.add(c);
        st.chargeLive(c, -1);
        block = quotaBlock(p.tenant, demand);
      }
      return block === undefined ? victims : undefined;
    } finally {
      for (const v of victims) st.chargeLive(v, 1);
    }
  }

  /** Whether the job fits quota and nodes with the victims gone (nothing changes). */
  private fits(victims: readonly Live[]): boolean {
    const { st, p, share, demand } = this;
    for (const v of victims) {
      st.chargeLive(v, -1);
      for (const h of v.holds) st.pool.release(h);
    }
    try {
      return (
        quotaBlock(p.tenant, demand) === undefined &&
        st.pool.find(share, p.nodes, p.end, p.index) !== undefined
      );
    } finally {
      for (const v of victims) {
        st.chargeLive(v, 1);
        for (const h of v.holds) st.pool.occupy(h);
      }
    }
  }
}
