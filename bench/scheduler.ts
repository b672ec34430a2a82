// Scheduler benchmark (issue 6's goals) on a simulated cluster of 1,000 nodes — 400 with 8 h100,
// 400 with 8 a100, 200 CPU-only — and 10,000 queued jobs of mixed sizes (CPU-only, 1/2/4/8 GPUs,
// multi-node gangs of 8-GPU members) from five projects with weights 1, 1, 2, 3, 3:
//   1. one full scheduling pass over the 10,000 jobs, on an empty cluster and on a full one
//      (goal < 500 ms), and the GPUs the first pass allocates (goal ≥ 95% of what the queue
//      could use);
//   2. a simulated day in 60-second steps where jobs finish and new ones keep every project's
//      backlog high: admissions per second of scheduler time (goal ≥ 1,000/s), GPU allocation
//      over the day, gangs never partly placed (asserted), and each project's share of the
//      cluster against its weight (goal: within 5%, relative).
//
//   npx tsx bench/scheduler.ts
//   FALAJ_BENCH_SCHED_HOURS=6 npx tsx bench/scheduler.ts     (a shorter day)
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { schedule } from '../src/jobs/scheduler/index.js';
import { type SimJob, Simulation } from '../src/jobs/scheduler/simulation.js';
import type { SchedulerConfig } from '../src/jobs/scheduler/types.js';
import type { NodeCapacity } from '../src/jobs/types.js';
import { Random } from '../src/training/random.js';

const GiB = 1024 ** 3;
const GPU_NODE = { cpu: 128, memory: 1024 * GiB };
const CPU_NODE = { cpu: 64, memory: 256 * GiB };
const PROJECTS = [
  { project: 'nlp', weight: 1 },
  { project: 'vision', weight: 1 },
  { project: 'speech', weight: 2 },
  { project: 'recsys', weight: 3 },
  { project: 'research', weight: 3 },
];

export function cluster(): NodeCapacity[] {
  const nodes: NodeCapacity[] = [];
  const eight = [0, 1, 2, 3, 4, 5, 6, 7];
  for (let i = 0; i < 400; i++) nodes.push({ nodeId: `h100-${i}`, ...GPU_NODE, gpus: { h100: eight } });
  for (let i = 0; i < 400; i++) nodes.push({ nodeId: `a100-${i}`, ...GPU_NODE, gpus: { a100: eight } });
  for (let i = 0; i < 200; i++) nodes.push({ nodeId: `cpu-${i}`, ...CPU_NODE, gpus: {} });
  return nodes;
}

/**
 * Quotas that do not bind when everyone is busy (each project may hold 60% of the cluster), so
 * weights decide the split — the case the fair-share goal is about.
 */
export function config(): SchedulerConfig {
  const total = { cpu: 800 * 128 + 200 * 64, memory: 800 * 1024 * GiB + 200 * 256 * GiB, gpus: 3200 };
  const q = (x: number) => ({ nominal: Math.floor(x * 0.6) });
  return {
    queues: [
      {
        name: 'batch',
        projects: PROJECTS.map((p) => ({
          ...p,
          cpu: q(total.cpu),
          memory: q(total.memory),
          gpus: { h100: q(total.gpus), a100: q(total.gpus) },
        })),
      },
    ],
    fairShare: { halfLifeSeconds: 3600 },
  };
}

let seq = 0;

/**
 * One job of the mix; durations `minSeconds` × 1–24 (log-uniform: 10 min – 4 h by default),
 * time limit 1–1.5× the duration.
 */
export function job(rng: Random, project: string, now: number, minSeconds = 600): SimJob {
  const u = rng.next();
  const type = (() => {
    const v = rng.next();
    return v < 0.4 ? 'h100' : v < 0.8 ? 'a100' : undefined;
  })();
  let gpu = 0;
  let nodes = 1;
  if (u < 0.2) gpu = 0;
  else if (u < 0.5) gpu = 1;
  else if (u < 0.7) gpu = 2;
  else if (u < 0.85) gpu = 4;
  else if (u < 0.95) gpu = 8;
  else {
    gpu = 8;
    nodes = 2 + rng.int(3);
  }
  const resources =
    gpu === 0
      ? { cpu: 4 * (1 + rng.int(4)), memory: 16 * GiB * (1 + rng.int(4)), gpu: 0 }
      : { cpu: 12 * gpu, memory: 96 * GiB * gpu, gpu, ...(type !== undefined ? { gpuType: type } : {}) };
  const duration = Math.max(1, Math.round(minSeconds * 24 ** rng.next()));
  return {
    id: `j${String(seq++).padStart(7, '0')}`,
    queue: 'batch',
    project,
    priority: rng.next() < 0.1 ? 10 : 0,
    submittedAt: now,
    resources,
    nodes,
    maxRuntimeSeconds: Math.ceil(duration * (1 + rng.next() * 0.5)),
    durationSeconds: duration,
  };
}

function backlog(rng: Random, count: number, now: number, minSeconds = 600): SimJob[] {
  const jobs: SimJob[] = [];
  for (let i = 0; i < count; i++) {
    jobs.push(job(rng, (PROJECTS[i % PROJECTS.length] as { project: string }).project, now, minSeconds));
  }
  return jobs;
}

function ms(x: number): string {
  return `${x.toFixed(1)} ms`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function onePass(): void {
  const rng = new Random(1);
  const nodes = cluster();
  const cfg = config();
  const pending = backlog(rng, 10_000, 0);
  schedule({ now: 0, config: cfg, nodes, running: [], pending: pending.slice(0, 500) }); // warm-up (JIT)
  const t0 = performance.now();
  const d = schedule({ now: 0, config: cfg, nodes, running: [], pending });
  const emptyMs = performance.now() - t0;
  let gpus = 0;
  let gangsPartly = 0;
  const byId = new Map(pending.map((j) => [j.id, j]));
  for (const a of d.admissions) {
    for (const p of a.placements) gpus += p.gpus.length;
    if (a.placements.length !== ((byId.get(a.jobId) as SimJob).nodes ?? 1)) gangsPartly++;
  }
  if (gangsPartly > 0) throw new Error(`${gangsPartly} gang jobs partly placed`);
  // The queue asks for far more than 6,400 GPUs of each type: all of them could be used.
  const wanted = pending.reduce((s, j) => s + j.resources.gpu * (j.nodes ?? 1), 0);
  const usable = Math.min(6400, wanted);
  console.log(`one pass, empty cluster, 10,000 queued: ${ms(emptyMs)} (goal < 500 ms)`);
  console.log(
    `  admitted ${d.admissions.length} jobs; GPUs allocated ${gpus} of ${usable} usable = ${pct(gpus / usable)} (goal ≥ 95%)`,
  );

  // A full cluster: the first pass's admissions running, 10,000 more queued.
  const running = d.admissions.map((a) => {
    const j = byId.get(a.jobId) as SimJob;
    return {
      id: j.id,
      queue: j.queue,
      project: j.project,
      priority: j.priority ?? 0,
      startedAt: 0,
      placements: a.placements,
      maxRuntimeSeconds: j.maxRuntimeSeconds as number,
    };
  });
  const more = backlog(rng, 10_000, 1000);
  const t1 = performance.now();
  const d2 = schedule({ now: 60_000, config: cfg, nodes, running, pending: more });
  const fullMs = performance.now() - t1;
  console.log(
    `one pass, full cluster (${running.length} running), 10,000 queued: ${ms(fullMs)} (goal < 500 ms); admitted ${d2.admissions.length}`,
  );
}

/**
 * Admission throughput with the scheduler as the bottleneck: jobs of 10 s – 4 min, so that
 * hundreds finish between passes (as in Slurm's "simple batch jobs" figure), 10-s steps, the
 * backlog kept at 10,000. Admissions per second of time spent inside schedule().
 */
function throughput(): void {
  const rng = new Random(3);
  const sim = new Simulation({ config: config(), nodes: cluster(), stepSeconds: 10, check: true });
  sim.submit(backlog(rng, 10_000, 0, 10));
  const steps = 120;
  let admissions0 = 0;
  let ms0 = 0;
  for (let i = 0; i < steps; i++) {
    const missing = 10_000 - sim.pendingCount;
    if (missing > 0) sim.submit(backlog(rng, missing, sim.now, 10));
    sim.step();
    if (i === 9) {
      admissions0 = sim.stats.admissions;
      ms0 = sim.stats.scheduleMs;
    }
  }
  const s = sim.stats;
  if (s.violations.length > 0) throw new Error(`invariants broken: ${s.violations.slice(0, 5).join('; ')}`);
  const admissions = s.admissions - admissions0;
  const secs = (s.scheduleMs - ms0) / 1000;
  console.log(
    `sustained, short jobs (10 s – 4 min), 10-s steps, backlog 10,000: ${admissions} admissions in ` +
      `${secs.toFixed(2)} s inside schedule() = ${Math.round(admissions / secs)}/s (goal ≥ 1,000/s); ` +
      `${Math.round(admissions / (steps - 10))} per pass, mean pass ${ms((s.scheduleMs - ms0) / (steps - 10))}`,
  );
}

function day(): void {
  const hours = Number(process.env.FALAJ_BENCH_SCHED_HOURS ?? 24);
  const stepSeconds = 60;
  const rng = new Random(2);
  const sim = new Simulation({ config: config(), nodes: cluster(), stepSeconds, check: true });
  sim.submit(backlog(rng, 10_000, 0));
  const steps = Math.round((hours * 3600) / stepSeconds);
  // The first hour fills the cluster; shares are measured after it.
  const warm = Math.min(60, Math.floor(steps / 4));
  let before = new Map<string, number>();
  let admissionsBefore = 0;
  let msBefore = 0;
  let allocBefore = 0;
  let usableBefore = 0;
  for (let i = 0; i < steps; i++) {
    // Demand stays high: every project keeps at least 2,000 jobs queued.
    for (const p of PROJECTS) {
      const missing = 2000 - sim.pendingOf(p.project);
      if (missing > 0) sim.submit(Array.from({ length: missing }, () => job(rng, p.project, sim.now)));
    }
    sim.step();
    if (i === warm - 1) {
      before = new Map(sim.stats.shareSeconds);
      admissionsBefore = sim.stats.admissions;
      msBefore = sim.stats.scheduleMs;
      allocBefore = sim.stats.allocatedGpuSeconds;
      usableBefore = sim.stats.usableGpuSeconds;
    }
  }
  const s = sim.stats;
  if (s.violations.length > 0) throw new Error(`invariants broken: ${s.violations.slice(0, 5).join('; ')}`);
  const admissions = s.admissions - admissionsBefore;
  const secs = (s.scheduleMs - msBefore) / 1000;
  console.log(
    `simulated ${hours} h in ${stepSeconds}-s steps (${steps} passes, backlog ≥ 10,000): ` +
      `${admissions} admissions in ${secs.toFixed(2)} s of scheduling after the first hour = ` +
      `${Math.round(admissions / secs)}/s (bound by turnover: ${Math.round(admissions / (steps - warm))} per pass); ` +
      `mean pass ${ms(s.scheduleMs / s.passes)}, slowest ${ms(s.slowestPassMs)}`,
  );
  console.log(
    `  GPU allocation after the first hour: ${pct((s.allocatedGpuSeconds - allocBefore) / (s.usableGpuSeconds - usableBefore))} ` +
      `of what the queue could use (goal ≥ 95%); preemptions ${s.preemptions}; gangs never partly placed, GPUs never shared (checked every pass)`,
  );
  const shares = PROJECTS.map((p) => {
    const key = `batch/${p.project}`;
    return (s.shareSeconds.get(key) ?? 0) - (before.get(key) ?? 0);
  });
  const total = shares.reduce((a, b) => a + b, 0);
  const wsum = PROJECTS.reduce((a, p) => a + p.weight, 0);
  let worst = 0;
  for (const [i, p] of PROJECTS.entries()) {
    const got = (shares[i] as number) / total;
    const want = p.weight / wsum;
    const off = Math.abs(got - want) / want;
    worst = Math.max(worst, off);
    console.log(
      `  ${p.project.padEnd(9)} weight ${p.weight}: share ${pct(got)} vs ${pct(want)} (off by ${pct(off)})`,
    );
  }
  console.log(`  worst share deviation ${pct(worst)} of the weight's share (goal ≤ 5%)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(
    `scheduler benchmark on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  onePass();
  throughput();
  day();
}
