// Checks of everything the scheduler is handed. A bad config or a malformed job is the caller's
// bug or a user's bad input: it fails loudly with FALAJ_INVALID_ARGUMENT naming the field,
// before any decision is taken, rather than producing a quietly wrong schedule.
import { FalajError } from '../../core/errors.js';
import type { NodeCapacity } from '../types.js';
import type {
  PendingJob,
  PreemptionPolicy,
  ResourceQuota,
  RunningJob,
  SchedulerConfig,
  SchedulerSnapshot,
} from './types.js';

export function invalid(field: string, message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegative(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw invalid(field, `must be a finite number ≥ 0, got ${JSON.stringify(v)}`);
  }
}

function name(v: unknown, field: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(field, 'must be a non-empty string');
}

function oneOf(v: unknown, allowed: readonly string[], field: string): void {
  if (v !== undefined && !allowed.includes(v as string)) {
    throw invalid(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
}

function checkQuota(q: unknown, field: string): void {
  if (!isObject(q)) throw invalid(field, 'must be an object with a nominal quota');
  const quota = q as unknown as ResourceQuota;
  nonNegative(quota.nominal, `${field}.nominal`);
  if (quota.borrowingLimit !== undefined) nonNegative(quota.borrowingLimit, `${field}.borrowingLimit`);
  if (quota.lendingLimit !== undefined) {
    nonNegative(quota.lendingLimit, `${field}.lendingLimit`);
    if (quota.lendingLimit > quota.nominal) {
      throw invalid(
        `${field}.lendingLimit`,
        `${quota.lendingLimit} is above the nominal quota ${quota.nominal}`,
      );
    }
  }
}

function checkPolicy(p: PreemptionPolicy | undefined, field: string): void {
  if (p === undefined) return;
  if (!isObject(p)) throw invalid(field, 'must be an object');
  oneOf(p.reclaimWithinCohort, ['never', 'lowerPriority', 'any'], `${field}.reclaimWithinCohort`);
  oneOf(p.withinProject, ['never', 'lowerPriority'], `${field}.withinProject`);
}

const STRATEGIES = ['BestEffortFIFO', 'StrictFIFO'];

export function validateConfig(config: SchedulerConfig): void {
  if (!isObject(config) || !Array.isArray(config.queues)) throw invalid('queues', 'must be an array');
  const queueNames = new Set<string>();
  config.queues.forEach((queue, qi) => {
    const qf = `queues[${qi}]`;
    if (!isObject(queue)) throw invalid(qf, 'must be an object');
    name(queue.name, `${qf}.name`);
    if (queueNames.has(queue.name)) throw invalid(`${qf}.name`, `queue '${queue.name}' is defined twice`);
    queueNames.add(queue.name);
    oneOf(queue.queueingStrategy, STRATEGIES, `${qf}.queueingStrategy`);
    checkPolicy(queue.preemption as PreemptionPolicy | undefined, `${qf}.preemption`);
    oneOf(queue.network, ['host', 'none'], `${qf}.network`);
    if (!Array.isArray(queue.projects)) throw invalid(`${qf}.projects`, 'must be an array');
    const projects = new Set<string>();
    queue.projects.forEach((p, pi) => {
      const pf = `${qf}.projects[${pi}]`;
      if (!isObject(p)) throw invalid(pf, 'must be an object');
      name(p.project, `${pf}.project`);
      if (projects.has(p.project)) throw invalid(`${pf}.project`, `project '${p.project}' is listed twice`);
      projects.add(p.project);
      if (p.weight !== undefined) {
        nonNegative(p.weight, `${pf}.weight`);
        if (p.weight === 0) throw invalid(`${pf}.weight`, 'must be > 0');
      }
      if (p.cpu !== undefined) checkQuota(p.cpu, `${pf}.cpu`);
      if (p.memory !== undefined) checkQuota(p.memory, `${pf}.memory`);
      if (p.gpus !== undefined) {
        if (!isObject(p.gpus)) throw invalid(`${pf}.gpus`, 'must be an object keyed by GPU type');
        for (const [type, q] of Object.entries(p.gpus)) checkQuota(q, `${pf}.gpus.${type}`);
      }
      oneOf(p.queueingStrategy, STRATEGIES, `${pf}.queueingStrategy`);
      checkPolicy(p.preemption as PreemptionPolicy | undefined, `${pf}.preemption`);
    });
  });
  const fs = config.fairShare;
  if (fs !== undefined) {
    if (fs.halfLifeSeconds !== undefined) {
      nonNegative(fs.halfLifeSeconds, 'fairShare.halfLifeSeconds');
      if (fs.halfLifeSeconds === 0) throw invalid('fairShare.halfLifeSeconds', 'must be > 0');
    }
    if (fs.historyWeight !== undefined) nonNegative(fs.historyWeight, 'fairShare.historyWeight');
  }
  const mr = config.backfill?.maxReservations;
  if (mr !== undefined && (!Number.isInteger(mr) || mr < 0)) {
    throw invalid('backfill.maxReservations', `must be an integer ≥ 0, got ${JSON.stringify(mr)}`);
  }
}

export function validateNodes(nodes: readonly NodeCapacity[]): void {
  if (!Array.isArray(nodes)) throw invalid('nodes', 'must be an array');
  const ids = new Set<string>();
  nodes.forEach((n, i) => {
    const f = `nodes[${i}]`;
    if (!isObject(n)) throw invalid(f, 'must be an object');
    name(n.nodeId, `${f}.nodeId`);
    if (ids.has(n.nodeId)) throw invalid(`${f}.nodeId`, `node '${n.nodeId}' is listed twice`);
    ids.add(n.nodeId);
    nonNegative(n.cpu, `${f}.cpu`);
    nonNegative(n.memory, `${f}.memory`);
    if (!isObject(n.gpus)) throw invalid(`${f}.gpus`, 'must be an object keyed by GPU type');
    const seen = new Set<number>();
    for (const [type, indices] of Object.entries(n.gpus)) {
      if (!Array.isArray(indices)) throw invalid(`${f}.gpus.${type}`, 'must be an array of GPU indices');
      for (const g of indices) {
        if (!Number.isInteger(g) || g < 0)
          throw invalid(`${f}.gpus.${type}`, `bad GPU index ${JSON.stringify(g)}`);
        // CUDA_VISIBLE_DEVICES indexes all GPUs of the node: one index cannot be two types.
        if (seen.has(g)) throw invalid(`${f}.gpus.${type}`, `GPU index ${g} appears twice on the node`);
        seen.add(g);
      }
    }
  });
}

/** The shape of a pending job alone (not whether its queue exists). */
export function validatePendingShape(job: PendingJob, field = 'job'): void {
  if (!isObject(job)) throw invalid(field, 'must be an object');
  name(job.id, `${field}.id`);
  name(job.queue, `${field}.queue`);
  name(job.project, `${field}.project`);
  if (job.priority !== undefined && (typeof job.priority !== 'number' || !Number.isFinite(job.priority))) {
    throw invalid(`${field}.priority`, 'must be a finite number');
  }
  if (typeof job.submittedAt !== 'number' || !Number.isFinite(job.submittedAt)) {
    throw invalid(`${field}.submittedAt`, 'must be a time in milliseconds');
  }
  const r = job.resources;
  if (!isObject(r)) throw invalid(`${field}.resources`, 'must be an object');
  nonNegative(r.cpu, `${field}.resources.cpu`);
  nonNegative(r.memory, `${field}.resources.memory`);
  if (!Number.isInteger(r.gpu) || r.gpu < 0) {
    throw invalid(`${field}.resources.gpu`, `must be a whole number ≥ 0, got ${JSON.stringify(r.gpu)}`);
  }
  if (r.gpuType !== undefined) name(r.gpuType, `${field}.resources.gpuType`);
  if (r.cpu === 0 && r.memory === 0 && r.gpu === 0) throw invalid(`${field}.resources`, 'asks for nothing');
  if (job.nodes !== undefined && (!Number.isInteger(job.nodes) || job.nodes < 1)) {
    throw invalid(`${field}.nodes`, `must be a whole number ≥ 1, got ${JSON.stringify(job.nodes)}`);
  }
  if (job.maxRuntimeSeconds !== undefined) {
    nonNegative(job.maxRuntimeSeconds, `${field}.maxRuntimeSeconds`);
  }
}

/**
 * For the submit route: the job's shape, and that its queue exists and lists its project.
 * (schedule() itself does not throw for an unknown queue: a queue deleted while jobs wait must
 * not stop scheduling for everyone; it marks those jobs impossible instead.)
 */
export function validateJob(config: SchedulerConfig, job: PendingJob): void {
  validatePendingShape(job);
  const queue = config.queues.find((q) => q.name === job.queue);
  if (queue === undefined) throw invalid('job.queue', `queue '${job.queue}' does not exist`);
  if (!queue.projects.some((p) => p.project === job.project)) {
    throw invalid('job.project', `project '${job.project}' has no quota in queue '${job.queue}'`);
  }
}

function validateRunning(job: RunningJob, field: string): void {
  if (!isObject(job)) throw invalid(field, 'must be an object');
  name(job.id, `${field}.id`);
  name(job.queue, `${field}.queue`);
  name(job.project, `${field}.project`);
  if (typeof job.startedAt !== 'number' || !Number.isFinite(job.startedAt)) {
    throw invalid(`${field}.startedAt`, 'must be a time in milliseconds');
  }
  if (!Array.isArray(job.placements)) throw invalid(`${field}.placements`, 'must be an array');
}

export function validateSnapshot(s: SchedulerSnapshot): void {
  if (typeof s.now !== 'number' || !Number.isFinite(s.now))
    throw invalid('now', 'must be a time in milliseconds');
  validateConfig(s.config);
  validateNodes(s.nodes);
  const ids = new Set<string>();
  s.running.forEach((j, i) => {
    validateRunning(j, `running[${i}]`);
    if (ids.has(j.id)) throw invalid(`running[${i}].id`, `job '${j.id}' appears twice`);
    ids.add(j.id);
  });
  s.pending.forEach((j, i) => {
    validatePendingShape(j, `pending[${i}]`);
    if (ids.has(j.id)) throw invalid(`pending[${i}].id`, `job '${j.id}' appears twice`);
    ids.add(j.id);
  });
}
