// Backfill reservations (Slurm's EASY backfill, with time limits as the runtime estimates).
// When a project's first blocked job is blocked on nodes, it gets the nodes it would start on
// soonest: for every node of its GPU type, the time at which enough running jobs will have
// ended (start + time limit) to fit its share; the `nodes` earliest ones are reserved, from
// the latest of their times T. Later jobs in the pass may then use a reserved node only if
// they end by T, or if what they take still leaves the reserved share free at T. So with
// truthful time limits the blocked job starts no later than it would have had nothing else
// started; jobs without a time limit are taken to run forever.
import type { Share } from './node-pool.js';
import type { PassState } from './pass-state.js';
import { EPS } from './quota.js';

export interface Reservation {
  readonly nodes: readonly number[];
  /** Expected start: Infinity when some job it waits for has no time limit. */
  readonly at: number;
}

interface Candidate {
  readonly node: number;
  readonly at: number;
  readonly freeGpus: number;
}

/** When the node will fit the share if nothing else starts on it; Infinity if not by known ends. */
function readyAt(st: PassState, node: number, s: Share): number {
  const pool = st.pool;
  if (pool.fitsNow(node, s)) return st.now;
  let cpu = pool.cpuFree[node] as number;
  let mem = pool.memFree[node] as number;
  let gpus = s.gpus > 0 ? pool.freeGpus(node, s.gpuRes) : 0;
  const resOf = pool.gpuResOf[node] as ReadonlyMap<number, number>;
  const lives = [...(st.onNode[node] ?? [])].sort((a, b) => a.end - b.end);
  for (const l of lives) {
    if (l.end === Infinity) return Infinity;
    for (const h of l.holds) {
      if (h.node !== node) continue;
      cpu += h.cpu;
      mem += h.memory;
      for (const g of h.gpus) if (resOf.get(g) === s.gpuRes) gpus++;
    }
    if (cpu + EPS >= s.cpu && mem >= s.memory && gpus >= s.gpus) return Math.max(st.now, l.end);
  }
  return Infinity;
}

/** The nodes a blocked job would start on soonest, and when; undefined when too few qualify. */
export function planReservation(st: PassState, s: Share, count: number): Reservation | undefined {
  const pool = st.pool;
  const cands: Candidate[] = [];
  // CPU-only work waits for CPU-only nodes when one of them could take it (where find looks first).
  const cpuNodes = new Set(pool.cpuOnly);
  const cpuOnly = pool.cpuNodesOnly(s, count);
  for (let node = 0; node < pool.size; node++) {
    if (pool.reservedBy[node] !== -1 || !pool.couldEverFit(node, s)) continue;
    if (cpuOnly && !cpuNodes.has(node)) continue;
    cands.push({ node, at: readyAt(st, node, s), freeGpus: s.gpus > 0 ? pool.freeGpus(node, s.gpuRes) : 0 });
  }
  if (cands.length < count) return undefined;
  cands.sort((a, b) => a.at - b.at || b.freeGpus - a.freeGpus || a.node - b.node);
  const chosen = cands.slice(0, count);
  const at = Math.max(...chosen.map((c) => c.at));
  return { nodes: chosen.map((c) => c.node), at };
}

/** Writes the reservation into the pool: the share is set aside on each node from `at`. */
export function applyReservation(st: PassState, r: Reservation, s: Share, job: number): void {
  const pool = st.pool;
  for (const node of r.nodes) {
    const resOf = pool.gpuResOf[node] as ReadonlyMap<number, number>;
    let cpu = pool.cpuFree[node] as number;
    let mem = pool.memFree[node] as number;
    let gpus = s.gpus > 0 ? pool.freeGpus(node, s.gpuRes) : 0;
    for (const l of st.onNode[node] ?? []) {
      if (l.end === Infinity || l.end > r.at) continue;
      for (const h of l.holds) {
        if (h.node !== node) continue;
        cpu += h.cpu;
        mem += h.memory;
        for (const g of h.gpus) if (resOf.get(g) === s.gpuRes) gpus++;
      }
    }
    pool.reservedBy[node] = job;
    pool.reservedAt[node] = r.at;
    pool.reservedRes[node] = s.gpus > 0 ? s.gpuRes : -1;
    pool.slackCpu[node] = cpu - s.cpu;
    pool.slackMem[node] = mem - s.memory;
    pool.slackGpu[node] = gpus - s.gpus;
  }
}
