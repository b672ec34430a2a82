// One scheduling pass: schedule(snapshot) → decision. Pure and deterministic: the same snapshot
// (in any order of its lists) gives the same decision.
//
// Order. Within a project (in a queue), jobs go by priority (higher first), then submit time,
// then id. Across projects, the next job comes from the project with the lowest weighted
// dominant share (fair-share.ts); it changes as jobs are admitted, so projects interleave.
//
// For each job, in that order:
//  - impossible (no quota for a resource it asks, more than the project could ever hold, no
//    node — or not enough nodes for the gang — that could fit it even empty): reported as such
//    so the caller fails it instead of letting it wait forever;
//  - StrictFIFO: nothing of a project passes its first blocked job;
//  - quota (quota.ts): nominal + borrowing within the queue's pool, respecting lending limits;
//  - placement (node-pool.ts): best fit on GPUs of the right type, all gang members or none;
//  - if it does not fit: preemption per the project's policy (preemption.ts), the victims
//    listed in the decision and the job admitted with `waitFor` naming them;
//  - else it waits, with the reason. A project's first blocked job is its head: if nodes block
//    it, nodes are reserved for it (reservations.ts) against later jobs of any project, and its
//    quota is held against later jobs of its own project (unless they end before the head is
//    expected to start), so later jobs start ahead of it (backfill) only where they do not
//    delay it; if quota blocks it, later jobs of the project that need that resource are held.
import type { Placement } from '../types.js';
import { fairKey, tenantShares } from './fair-share.js';
import { CPU, gpuTypeOf, MEMORY, type Tenant } from './model.js';
import type { Share } from './node-pool.js';
import { cmp, demandOf, type Live, PassState, type Prepared, shareOf } from './pass-state.js';
import { VictimSearch } from './preemption.js';
import {
  chargeDemand,
  type Demand,
  dominantShare,
  maxUsable,
  type QuotaBlock,
  quotaBlock,
  wouldBorrow,
} from './quota.js';
import { amount, nodesText, quotaReason, shareText, timeText } from './reasons.js';
import { applyReservation, planReservation, type Reservation } from './reservations.js';
import { ShapeIds } from './shapes.js';
import type {
  Admission,
  Decision,
  PendingKind,
  PendingVerdict,
  Preemption,
  SchedulerSnapshot,
} from './types.js';
import { validateSnapshot } from './validate.js';

/** Preemption searches one pass may run (each is bounded, but 10,000 blocked jobs add up). */
const MAX_PREEMPTION_SEARCHES = 64;
const DEFAULT_MAX_RESERVATIONS = 32;

/** One GPU type a job could take (or −1 for CPU-only jobs), with what it implies. */
interface Option {
  readonly res: number;
  readonly share: Share;
  readonly demand: Demand;
  /** Placement key: jobs with the same one place alike. */
  readonly key: number;
}

const NO_GPU: readonly number[] = [-1];

interface TenantPass {
  readonly jobs: Prepared[];
  cursor: number;
  /** The project's first blocked job. */
  head?: Prepared;
  /** Set under StrictFIFO once the head is blocked. */
  fifoBlocker?: Prepared;
  /** Resources the head waits for quota of; later jobs needing them are held. */
  readonly quotaHold: Set<number>;
  /** The head's quota, held against later jobs that would still run at the reservation time. */
  reservedDemand?: Demand;
  reservedAt?: number;
}

export function schedule(snapshot: SchedulerSnapshot): Decision {
  validateSnapshot(snapshot);
  return new Pass(snapshot).run();
}

class Pass {
  private readonly st: PassState;
  private readonly admissions: Admission[] = [];
  private readonly preemptions: Preemption[] = [];
  private readonly verdicts: PendingVerdict[] = [];
  private readonly tenants: TenantPass[];
  /** Shapes that found no nodes: capacity only shrinks during a pass, so they stay failed. */
  private readonly shapes = new ShapeIds();
  private readonly noFit = new Set<number>();
  private readonly blockerOf = new Map<number, string | undefined>();
  private readonly shareTexts = new Map<number, string>();
  private readonly nodeImpossible = new Map<number, string | undefined>();
  private readonly preemptionFailed = new Set<number>();
  private preemptionSearches = MAX_PREEMPTION_SEARCHES;
  private reservationsLeft: number;
  private readonly maxGpusOfType = new Map<number, number>();
  /** Pending job ids by their index in the pass. */
  private idAt: string[] = [];

  constructor(private readonly snapshot: SchedulerSnapshot) {
    this.st = new PassState(snapshot);
    const st = this.st;
    this.tenants = st.model.tenants.map(() => ({ jobs: [], cursor: 0, quotaHold: new Set() }));
    this.reservationsLeft = snapshot.config.backfill?.maxReservations ?? DEFAULT_MAX_RESERVATIONS;
    for (let node = 0; node < st.pool.size; node++) {
      for (const [r, idx] of st.pool.gpuTotal[node] ?? []) {
        this.maxGpusOfType.set(r, Math.max(this.maxGpusOfType.get(r) ?? 0, idx.length));
      }
    }
  }

  run(): Decision {
    const st = this.st;
    const pending = [...this.snapshot.pending].sort((a, b) => cmp(a.id, b.id));
    this.idAt = pending.map((j) => j.id);
    pending.forEach((job, index) => {
      const tenant = st.model.tenant(job.queue, job.project);
      if (tenant === undefined) {
        const reason = st.model.queues.has(job.queue)
          ? `project ${job.project} has no quota in queue ${job.queue}`
          : `queue ${job.queue} does not exist`;
        this.wait(job.id, 'impossible', reason);
        return;
      }
      const end = job.maxRuntimeSeconds === undefined ? Infinity : st.now + job.maxRuntimeSeconds * 1000;
      (this.tenants[tenant.index] as TenantPass).jobs.push({
        job,
        index,
        tenant,
        nodes: job.nodes ?? 1,
        priority: job.priority ?? 0,
        end,
      });
    });
    for (const tp of this.tenants) {
      tp.jobs.sort(
        (a, b) => b.priority - a.priority || a.job.submittedAt - b.job.submittedAt || cmp(a.job.id, b.job.id),
      );
    }
    const hw = st.model.historyWeight;
    for (;;) {
      // Tenants are few (tens): a scan is cheaper than keeping a heap's keys fresh when
      // preemption lowers other projects' shares.
      let best = -1;
      let bestKey = Infinity;
      const tenants = st.model.tenants;
      for (let i = 0; i < tenants.length; i++) {
        const tp = this.tenants[i] as TenantPass;
        if (tp.cursor >= tp.jobs.length) continue;
        const key = fairKey(tenants[i] as Tenant, hw);
        if (best === -1 || key < bestKey) {
          best = i;
          bestKey = key;
        }
      }
      if (best === -1) break;
      const tp = this.tenants[best] as TenantPass;
      this.consider(tp.jobs[tp.cursor++] as Prepared, tp);
    }
    return {
      admissions: this.admissions,
      preemptions: this.preemptions,
      pending: this.verdicts,
      shares: tenantShares(st),
    };
  }

  private wait(jobId: string, kind: PendingKind, reason: string): undefined {
    this.verdicts.push({ jobId, kind, impossible: kind === 'impossible', reason });
    return undefined;
  }

  private consider(p: Prepared, tp: TenantPass): undefined {
    const { model } = this.st;
    const t = p.tenant;
    const r = p.job.resources;
    let types: readonly number[];
    if (r.gpu === 0) types = NO_GPU;
    else if (r.gpuType !== undefined) {
      const res = model.gpuResource.get(r.gpuType);
      if (res === undefined) {
        return this.wait(p.job.id, 'impossible', `no node or quota has GPUs of type ${r.gpuType}`);
      }
      types = [res];
    } else {
      types = t.gpuOrder;
      if (types.length === 0) {
        return this.wait(
          p.job.id,
          'impossible',
          `project ${t.project} in queue ${t.queue.name} has no GPU quota`,
        );
      }
    }
    // Per GPU type the job could take: its per-node share, total demand and placement key.
    const options: Option[] = [];
    const impossible: string[] = [];
    for (const res of types) {
      const share = shareOf(r, res);
      const why = this.impossible(p, share);
      if (why !== undefined) impossible.push(why);
      else options.push({ res, share, demand: demandOf(r, p.nodes, res), key: this.shapeKey(share, p) });
    }
    if (options.length === 0) return this.wait(p.job.id, 'impossible', [...new Set(impossible)].join('; '));

    if (tp.fifoBlocker !== undefined) {
      return this.wait(p.job.id, 'fifo', `StrictFIFO: waiting behind job ${tp.fifoBlocker.job.id}`);
    }
    let viable = options;
    if (tp.quotaHold.size > 0 && tp.head !== undefined) {
      const held = (r.cpu > 0 && tp.quotaHold.has(CPU)) || (r.memory > 0 && tp.quotaHold.has(MEMORY));
      if (!held) viable = viable.filter((o) => o.res === -1 || !tp.quotaHold.has(o.res));
      if (held || viable.length === 0) {
        return this.wait(
          p.job.id,
          'hold',
          `held so as not to delay job ${tp.head.job.id}, which waits for the same quota`,
        );
      }
    }

    let firstQuota: QuotaBlock | undefined;
    let heldByHead = false;
    const capacity: Option[] = [];
    for (const o of viable) {
      const block = quotaBlock(t, o.demand);
      if (block !== undefined) {
        firstQuota ??= block;
        continue;
      }
      if (this.blockedByHeadQuota(p, tp, o.demand)) {
        heldByHead = true;
        continue;
      }
      if (!this.noFit.has(o.key)) {
        const nodes = this.st.pool.find(o.share, p.nodes, p.end, p.index);
        if (nodes !== undefined) return this.admit(p, o, nodes, []);
        this.noFit.add(o.key);
      }
      capacity.push(o);
    }

    if (this.tryPreemption(p, viable)) return;

    if (tp.head === undefined) {
      tp.head = p;
      if (t.strategy === 'StrictFIFO') tp.fifoBlocker = p;
      if (capacity.length === 0 && !heldByHead) {
        for (const o of viable) {
          const b = quotaBlock(t, o.demand);
          if (b !== undefined) tp.quotaHold.add(b.resource);
        }
      }
    }

    if (capacity.length > 0) {
      const reservation = tp.head === p ? this.reserve(p, tp, capacity) : undefined;
      const o = reservation?.option ?? (capacity[0] as Option);
      const what = this.shareWords(o, p);
      if (reservation !== undefined) {
        const ids = reservation.r.nodes.map((n) => this.st.pool.ids[n] as string);
        const shown =
          ids.length > 4 ? `${ids.slice(0, 4).join(', ')} and ${ids.length - 4} more` : ids.join(', ');
        return this.wait(
          p.job.id,
          'capacity',
          `${what}; reserved ${shown} for it, expected at ${timeText(reservation.r.at)}`,
        );
      }
      const blocker = this.reservedBlocker(p, o);
      if (blocker !== undefined) {
        return this.wait(p.job.id, 'hold', `held so as not to delay job ${blocker} (nodes reserved for it)`);
      }
      return this.wait(p.job.id, 'capacity', what);
    }
    if (heldByHead && tp.head !== undefined && tp.head !== p) {
      return this.wait(
        p.job.id,
        'hold',
        `held so as not to delay job ${tp.head.job.id}, which waits for nodes`,
      );
    }
    return this.wait(p.job.id, 'quota', quotaReason(model, t, firstQuota as QuotaBlock));
  }

  /** Why the job can never run with this share (undefined when it could). */
  private impossible(p: Prepared, s: Share): string | undefined {
    const { model, pool } = this.st;
    const t = p.tenant;
    // −2 keeps these ids apart from placement keys; the answer depends on the project's quota.
    const key = this.shapes.id(-2, t.index, s.gpuRes, s.gpus, s.cpu, s.memory, p.nodes);
    if (this.nodeImpossible.has(key)) return this.nodeImpossible.get(key);
    const n = p.nodes;
    const never = (r: number, a: number) =>
      a <= 0
        ? undefined
        : t.listed[r] !== 1
          ? quotaReason(model, t, { resource: r, kind: 'unlisted', amount: a })
          : a > maxUsable(t, r) + 1e-9
            ? quotaReason(model, t, { resource: r, kind: 'never', amount: a })
            : undefined;
    let why =
      (s.gpus > 0 ? never(s.gpuRes, s.gpus * n) : undefined) ??
      never(CPU, s.cpu * n) ??
      never(MEMORY, s.memory * n);
    if (why === undefined) {
      let count = 0;
      for (let node = 0; node < pool.size && count < n; node++) if (pool.couldEverFit(node, s)) count++;
      if (count < n) {
        const most = s.gpus > 0 ? (this.maxGpusOfType.get(s.gpuRes) ?? 0) : undefined;
        if (n === 1 || count === 0) {
          why = `no node can ever fit ${shareText(model, s)}`;
          if (most !== undefined && most < s.gpus)
            why += ` (the most any node has is ${amount(model, s.gpuRes, most)})`;
        } else {
          why = `needs ${n} nodes that each fit ${shareText(model, s)}; the cluster has ${count}`;
        }
      }
    }
    this.nodeImpossible.set(key, why);
    return why;
  }

  /** Whether, with the head's reserved quota held, the demand would not fit. */
  private blockedByHeadQuota(p: Prepared, tp: TenantPass, d: Demand): boolean {
    const rd = tp.reservedDemand;
    if (rd === undefined || tp.head === p) return false;
    // A job that ends before the head is expected to start gives the quota back in time.
    if (p.end < Infinity && p.end <= (tp.reservedAt as number)) return false;
    return quotaBlock(p.tenant, d, rd) !== undefined;
  }

  private tryPreemption(p: Prepared, viable: readonly Option[]): boolean {
    const t = p.tenant;
    if (t.reclaim === 'never' && t.within === 'never') return false;
    for (const o of viable) {
      if (this.preemptionSearches <= 0) return false;
      const key = this.shapes.id(-3, t.index, p.priority, o.key);
      if (this.preemptionFailed.has(key)) continue;
      this.preemptionSearches--;
      const victims = new VictimSearch(this.st, p, o.share, o.demand).run();
      if (victims === undefined) {
        this.preemptionFailed.add(key);
        continue;
      }
      this.preemptFor(p, o, victims);
      return true;
    }
    return false;
  }

  private preemptFor(p: Prepared, o: Option, victims: Live[]): void {
    const st = this.st;
    const t = p.tenant;
    for (const v of victims) {
      st.chargeLive(v, -1);
      v.terminating = true;
      v.victimOk = false;
      v.end = st.now;
      for (const h of v.holds) st.pool.release(h);
      const vt = v.tenant as Tenant;
      vt.dominantShare = dominantShare(vt, st.model.capacity);
      this.preemptions.push({
        jobId: v.id,
        forJobId: p.job.id,
        kind: vt === t ? 'priority' : 'reclaim',
        reason:
          vt === t
            ? `higher priority job ${p.job.id} (priority ${p.priority} > ${v.priority})`
            : `reclaim by project ${t.project} (job ${p.job.id})`,
      });
    }
    const nodes = st.pool.find(o.share, p.nodes, p.end, p.index) as number[];
    this.admit(
      p,
      o,
      nodes,
      victims.map((v) => v.id),
    );
    // The victims keep their GPUs until they exit: what the new job did not take stays busy.
    for (const v of victims) for (const h of v.holds) st.pool.occupy(h);
  }

  private admit(p: Prepared, o: Option, nodes: readonly number[], waitFor: string[]): undefined {
    const st = this.st;
    const t = p.tenant;
    const { res, share: s, demand: d } = o;
    const borrowing = wouldBorrow(t, d);
    chargeDemand(t, d, 1);
    t.dominantShare = dominantShare(t, st.model.capacity);
    const placements: Placement[] = nodes.map((node) => st.pool.take(node, s, p.end, p.index));
    const use = new Float64Array(st.model.resourceKeys.length);
    use[CPU] = d.cpu;
    use[MEMORY] = d.memory;
    if (d.gpus > 0) use[d.gpuRes] = d.gpus;
    st.addLive({
      id: p.job.id,
      tenant: t,
      priority: p.priority,
      startedAt: st.now,
      end: p.end,
      holds: placements.map((pl, i) => ({
        node: nodes[i] as number,
        cpu: pl.cpu,
        memory: pl.memory,
        gpus: pl.gpus,
      })),
      use,
      terminating: false,
      fresh: true,
      victimOk: false,
    });
    this.admissions.push({
      jobId: p.job.id,
      placements,
      ...(res >= 0 ? { gpuType: gpuTypeOf(st.model, res) } : {}),
      borrowing,
      waitFor,
    });
    return undefined;
  }

  private reserve(
    p: Prepared,
    tp: TenantPass,
    capacity: readonly Option[],
  ): { r: Reservation; option: Option } | undefined {
    if (this.reservationsLeft <= 0) return undefined;
    let best: { r: Reservation; option: Option } | undefined;
    for (const option of capacity) {
      const r = planReservation(this.st, option.share, p.nodes);
      if (r !== undefined && (best === undefined || r.at < best.r.at)) best = { r, option };
    }
    if (best === undefined) return undefined;
    this.reservationsLeft--;
    applyReservation(this.st, best.r, best.option.share, p.index);
    tp.reservedDemand = best.option.demand;
    tp.reservedAt = best.r.at;
    return best;
  }

  /** The job whose reservation stops this one, when it would fit without reservations. */
  private reservedBlocker(p: Prepared, o: Option): string | undefined {
    // Cached for the pass: the answer only names whom the job defers to, and capacity only
    // shrinks, so a shape that fits nowhere stays so; one that was held stays held or, later in
    // the pass, is held by less than the reason says.
    if (this.blockerOf.has(o.key)) return this.blockerOf.get(o.key);
    const nodes = this.st.pool.find(o.share, p.nodes, p.end, p.index, true);
    let blocker: string | undefined;
    for (const n of nodes ?? []) {
      const holder = this.st.pool.reservedBy[n] as number;
      if (holder >= 0) {
        blocker = this.jobIdAt(holder);
        break;
      }
    }
    this.blockerOf.set(o.key, blocker);
    return blocker;
  }

  /** "waiting for a node with 4 GPUs of type h100, … free", once per shape and pass. */
  private shareWords(o: Option, p: Prepared): string {
    let text = this.shareTexts.get(o.key);
    if (text === undefined) {
      text = `waiting for ${nodesText(p.nodes, `${shareText(this.st.model, o.share)} free`)}`;
      this.shareTexts.set(o.key, text);
    }
    return text;
  }

  private jobIdAt(index: number): string | undefined {
    return this.idAt[index];
  }

  /** Jobs of one shape and time limit place alike (ignoring a job's own reservation). */
  private shapeKey(s: Share, p: Prepared): number {
    return this.shapes.id(s.gpuRes, s.gpus, s.cpu, s.memory, p.nodes, p.job.maxRuntimeSeconds ?? -1);
  }
}
