// Free capacity of every node, indexed for placement. For each GPU type, nodes sit in buckets by
// how many GPUs of that type they have free, so a best-fit search (the fullest node that still
// fits, which keeps whole nodes free for 8-GPU and gang jobs) walks buckets upwards from the
// number asked instead of scanning every node for every job.
import type { NodeCapacity, Placement } from '../types.js';
import { EPS } from './quota.js';

/** What one node must give one gang member (or a single-node job). */
export interface Share {
  readonly cpu: number;
  readonly memory: number;
  /** Resource index of the GPU type, −1 for none. */
  readonly gpuRes: number;
  readonly gpus: number;
}

/** A node's holding by some job, as the pool tracks it. */
export interface Hold {
  readonly node: number;
  readonly cpu: number;
  readonly memory: number;
  readonly gpus: readonly number[];
}

/** What CPU-only work leaves each free GPU of a node, at least (capped at the GPU's slice). */
export const GPU_FLOOR_CPU = 1;
export const GPU_FLOOR_MEMORY = 4 * 1024 ** 3;

export class NodePool {
  readonly size: number;
  readonly ids: readonly string[];
  readonly byId: ReadonlyMap<string, number>;
  readonly cpuTotal: Float64Array;
  readonly memTotal: Float64Array;
  readonly cpuFree: Float64Array;
  readonly memFree: Float64Array;
  /** Per node: GPU index → resource index. */
  readonly gpuResOf: readonly ReadonlyMap<number, number>[];
  /** Per node: resource index → all its GPU indices of that type. */
  readonly gpuTotal: readonly ReadonlyMap<number, readonly number[]>[];
  /** Per node: resource index → free GPU indices, ascending. */
  private readonly gpuFree: Map<number, number[]>[];
  /** Nodes without GPUs, in node order: CPU-only jobs go there first. */
  readonly cpuOnly: readonly number[];
  /** Resource index → nodes by free count of that type. */
  private readonly buckets = new Map<number, Set<number>[]>();
  /** GPU resource indices present on some node, ascending. */
  private readonly gpuResources: readonly number[];

  // Backfill reservations (see reservations.ts): the job holding the node, the time it is
  // expected to start there, and what the node can still give others at that time.
  readonly reservedBy: Int32Array;
  readonly reservedAt: Float64Array;
  readonly slackCpu: Float64Array;
  readonly slackMem: Float64Array;
  readonly slackGpu: Float64Array;
  readonly reservedRes: Int32Array;

  constructor(nodes: readonly NodeCapacity[], gpuResource: ReadonlyMap<string, number>) {
    const n = nodes.length;
    this.size = n;
    this.ids = nodes.map((x) => x.nodeId);
    this.byId = new Map(this.ids.map((id, i) => [id, i]));
    this.cpuTotal = Float64Array.from(nodes, (x) => x.cpu);
    this.memTotal = Float64Array.from(nodes, (x) => x.memory);
    this.cpuFree = Float64Array.from(this.cpuTotal);
    this.memFree = Float64Array.from(this.memTotal);
    this.gpuResOf = [];
    this.gpuTotal = [];
    this.gpuFree = [];
    const cpuOnly: number[] = [];
    nodes.forEach((node, i) => {
      const resOf = new Map<number, number>();
      const total = new Map<number, number[]>();
      for (const type of Object.keys(node.gpus).sort()) {
        const r = gpuResource.get(type) as number;
        const idx = [...(node.gpus[type] as readonly number[])].sort((a, b) => a - b);
        if (idx.length === 0) continue;
        total.set(r, idx);
        for (const g of idx) resOf.set(g, r);
      }
      (this.gpuResOf as Map<number, number>[]).push(resOf);
      (this.gpuTotal as Map<number, number[]>[]).push(total);
      this.gpuFree.push(new Map([...total].map(([r, idx]) => [r, [...idx]])));
      if (total.size === 0) cpuOnly.push(i);
      for (const [r, idx] of total) this.bucketsOf(r, idx.length)[idx.length]?.add(i);
    });
    this.cpuOnly = cpuOnly;
    this.gpuResources = [...this.buckets.keys()].sort((a, b) => a - b);
    this.reservedBy = new Int32Array(n).fill(-1);
    this.reservedAt = new Float64Array(n);
    this.slackCpu = new Float64Array(n);
    this.slackMem = new Float64Array(n);
    this.slackGpu = new Float64Array(n);
    this.reservedRes = new Int32Array(n).fill(-1);
  }

  private bucketsOf(r: number, atLeast = 0): Set<number>[] {
    let b = this.buckets.get(r);
    if (b === undefined) {
      b = [];
      this.buckets.set(r, b);
    }
    while (b.length <= atLeast) b.push(new Set());
    return b;
  }

  freeGpus(node: number, r: number): number {
    return this.gpuFree[node]?.get(r)?.length ?? 0;
  }

  totalGpus(node: number, r: number): number {
    return this.gpuTotal[node]?.get(r)?.length ?? 0;
  }

  /** Whether the node could give the share if it were empty. */
  couldEverFit(node: number, s: Share): boolean {
    // CPU-only work on a GPU node: it must fit beside the floors of all the node's GPUs, so
    // "could ever" means "could on the idle node" (see keepsGpuSlices).
    if (s.gpus === 0 && (this.gpuTotal[node] as ReadonlyMap<number, readonly number[]>).size > 0) {
      let total = 0;
      for (const list of (this.gpuTotal[node] as ReadonlyMap<number, readonly number[]>).values())
        total += list.length;
      return this.leavesFloor(
        node,
        (this.cpuTotal[node] as number) - s.cpu,
        (this.memTotal[node] as number) - s.memory,
        total,
      );
    }
    return (
      (this.cpuTotal[node] as number) + EPS >= s.cpu &&
      (this.memTotal[node] as number) >= s.memory &&
      (s.gpus === 0 || this.totalGpus(node, s.gpuRes) >= s.gpus)
    );
  }

  /** Whether a CPU-only share is kept to CPU-only nodes (enough of them could take it). */
  cpuNodesOnly(s: Share, count: number): boolean {
    if (s.gpus > 0) return false;
    let could = 0;
    for (const node of this.cpuOnly) if (this.couldEverFit(node, s) && ++could >= count) return true;
    return false;
  }

  fitsNow(node: number, s: Share): boolean {
    return (
      (this.cpuFree[node] as number) + EPS >= s.cpu &&
      (this.memFree[node] as number) >= s.memory &&
      (s.gpus === 0 || this.freeGpus(node, s.gpuRes) >= s.gpus)
    );
  }

  /**
   * Whether a job ending at `end` may take the share on the node without delaying the job the
   * node is reserved for: it ends before the reservation starts, or what it takes still leaves
   * the reserved job's share free at that time.
   */
  allows(node: number, s: Share, end: number, job: number): boolean {
    const holder = this.reservedBy[node] as number;
    if (holder === -1 || holder === job) return true;
    if (end < Infinity && end <= (this.reservedAt[node] as number)) return true;
    return (
      s.cpu <= (this.slackCpu[node] as number) + EPS &&
      s.memory <= (this.slackMem[node] as number) &&
      (s.gpus === 0 || s.gpuRes !== this.reservedRes[node] || s.gpus <= (this.slackGpu[node] as number))
    );
  }

  /** Records that a job ending at `end` took the share from a reserved node (see allows). */
  private consumeSlack(node: number, s: Share, end: number, job: number): void {
    const holder = this.reservedBy[node] as number;
    if (holder === -1 || holder === job) return;
    if (end < Infinity && end <= (this.reservedAt[node] as number)) return;
    this.slackCpu[node] = (this.slackCpu[node] as number) - s.cpu;
    this.slackMem[node] = (this.slackMem[node] as number) - s.memory;
    if (s.gpuRes === this.reservedRes[node]) this.slackGpu[node] = (this.slackGpu[node] as number) - s.gpus;
  }

  /**
   * Up to `count` distinct nodes that can give the share now (best fit), or undefined when
   * fewer exist. `end` and `job` are for the backfill check (skipped with ignoreReservations);
   * nothing is changed.
   */
  find(s: Share, count: number, end: number, job: number, ignoreReservations = false): number[] | undefined {
    const found: number[] = [];
    if (s.gpus > 0) {
      const b = this.buckets.get(s.gpuRes);
      if (b === undefined) return undefined;
      for (let k = s.gpus; k < b.length; k++) {
        for (const node of b[k] as Set<number>) {
          if (this.usable(node, s, end, job, ignoreReservations)) {
            found.push(node);
            if (found.length === count) return found;
          }
        }
      }
      return undefined;
    }
    // CPU-only work goes to CPU-only nodes (first fit, in node order) whenever one of them could
    // take it: GPU nodes' CPUs serve their GPUs, and keeping the rule simple keeps backfill
    // reservations exact.
    let could = 0;
    for (const node of this.cpuOnly) {
      if (this.couldEverFit(node, s)) could++;
      if (this.usable(node, s, end, job, ignoreReservations)) {
        found.push(node);
        if (found.length === count) return found;
      }
    }
    if (could >= count) return undefined;
    // Only where CPU-only nodes could not (a single GPU machine, say) does it go to GPU nodes, the
    // busiest GPU-wise first, leaving each free GPU a floor of CPU and memory.
    const seen = new Set<number>(found);
    for (const r of this.gpuResources) {
      const b = this.buckets.get(r) as Set<number>[];
      for (let k = 0; k < b.length; k++) {
        for (const node of b[k] as Set<number>) {
          if (seen.has(node)) continue;
          if (!this.usable(node, s, end, job, ignoreReservations) || !this.keepsGpuSlices(node, s)) continue;
          seen.add(node);
          found.push(node);
          if (found.length === count) return found;
        }
      }
    }
    return undefined;
  }

  private usable(node: number, s: Share, end: number, job: number, ignoreReservations: boolean): boolean {
    return this.fitsNow(node, s) && (ignoreReservations || this.allows(node, s, end, job));
  }

  /**
   * Whether CPU-only work taking `s` leaves each free GPU of the node its floor of CPU and memory
   * (GPU_FLOOR_CPU, GPU_FLOOR_MEMORY, at most the GPU's proportional slice): enough that no GPU
   * is stranded, not so much that CPU jobs never run on a GPU machine.
   */
  private keepsGpuSlices(node: number, s: Share): boolean {
    let free = 0;
    for (const list of (this.gpuFree[node] as Map<number, number[]>).values()) free += list.length;
    return this.leavesFloor(
      node,
      (this.cpuFree[node] as number) - s.cpu,
      (this.memFree[node] as number) - s.memory,
      free,
    );
  }

  private leavesFloor(node: number, cpuLeft: number, memLeft: number, freeGpus: number): boolean {
    if (freeGpus === 0) return cpuLeft + EPS >= 0 && memLeft >= 0;
    let total = 0;
    for (const list of (this.gpuTotal[node] as ReadonlyMap<number, readonly number[]>).values())
      total += list.length;
    const cpuFloor = Math.min(GPU_FLOOR_CPU, (this.cpuTotal[node] as number) / total);
    const memFloor = Math.min(GPU_FLOOR_MEMORY, (this.memTotal[node] as number) / total);
    return cpuLeft + EPS >= cpuFloor * freeGpus && memLeft >= memFloor * freeGpus;
  }

  private setFree(node: number, r: number, free: number[]): void {
    const map = this.gpuFree[node] as Map<number, number[]>;
    const before = map.get(r)?.length ?? 0;
    map.set(r, free);
    if (before !== free.length) {
      const b = this.bucketsOf(r, Math.max(before, free.length));
      b[before]?.delete(node);
      b[free.length]?.add(node);
    }
  }

  /** Takes the share on the node (lowest free GPU indices) for a job ending at `end`. */
  take(node: number, s: Share, end: number, job: number): Placement {
    this.consumeSlack(node, s, end, job);
    let gpus: number[] = [];
    if (s.gpus > 0) {
      const free = this.gpuFree[node]?.get(s.gpuRes) ?? [];
      gpus = free.slice(0, s.gpus);
      this.setFree(node, s.gpuRes, free.slice(s.gpus));
    }
    this.cpuFree[node] = (this.cpuFree[node] as number) - s.cpu;
    this.memFree[node] = (this.memFree[node] as number) - s.memory;
    return { nodeId: this.ids[node] as string, cpu: s.cpu, memory: s.memory, gpus };
  }

  /** Marks a hold as used; GPU indices that are not the node's or already taken are ignored. */
  occupy(h: Hold): void {
    this.cpuFree[h.node] = (this.cpuFree[h.node] as number) - h.cpu;
    this.memFree[h.node] = (this.memFree[h.node] as number) - h.memory;
    if (h.gpus.length === 0) return;
    // Nodes have a handful of GPUs: plain loops beat building sets here (3,000 holds a pass).
    for (const [r, free] of this.gpuFree[h.node] as Map<number, number[]>) {
      const left = free.filter((g) => !h.gpus.includes(g));
      if (left.length !== free.length) this.setFree(h.node, r, left);
    }
  }

  /** Gives a hold back (the inverse of occupy for the indices occupy took). */
  release(h: Hold): void {
    this.cpuFree[h.node] = (this.cpuFree[h.node] as number) + h.cpu;
    this.memFree[h.node] = (this.memFree[h.node] as number) + h.memory;
    const resOf = this.gpuResOf[h.node] as ReadonlyMap<number, number>;
    const add = new Map<number, number[]>();
    for (const g of h.gpus) {
      const r = resOf.get(g);
      if (r === undefined) continue;
      let list = add.get(r);
      if (list === undefined) {
        list = [];
        add.set(r, list);
      }
      list.push(g);
    }
    for (const [r, gs] of add) {
      const free = this.gpuFree[h.node]?.get(r) ?? [];
      const merged = new Set([...free, ...gs]);
      this.setFree(
        h.node,
        r,
        [...merged].sort((a, b) => a - b),
      );
    }
  }

  /** Free GPU indices of a type on a node (a copy). */
  freeIndices(node: number, r: number): number[] {
    return [...(this.gpuFree[node]?.get(r) ?? [])];
  }
}
