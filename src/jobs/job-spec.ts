import { parse as parseYaml } from 'yaml';
import { FalajError } from '../core/errors.js';
import type { JobSpec, Resources } from './types.js';

// A job spec arrives as JSON (API) or YAML/JSON text (`falaj jobs submit SPEC.yaml`); both go
// through this one validator, which names the field at fault and never echoes secret values.

const KNOWN = new Set([
  'name',
  'command',
  'code',
  'workdir',
  'env',
  'secrets',
  'resources',
  'queue',
  'priority',
  'maxRuntimeSeconds',
  'retry',
  'distributed',
  'mixedPrecision',
]);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Variables Falaj sets for every job: a spec must not override them.
const RESERVED_ENV =
  /^(FALAJ_(URL|TOKEN|RUN_ID|JOB_ID|ATTEMPT)|CUDA_VISIBLE_DEVICES|MASTER_ADDR|MASTER_PORT|WORLD_SIZE|RANK|LOCAL_RANK)$/;
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
};

function bad(field: string, message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `job spec: ${field} ${message}`, { field });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Memory as bytes, or a string like "512Mi", "2G", "1.5Gi". */
export function parseMemory(field: string, v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw bad(field, 'must be a non-negative number of bytes');
    return Math.round(v);
  }
  if (typeof v !== 'string') throw bad(field, 'must be bytes or a size like "512Mi"');
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$/i.exec(v);
  if (!m) throw bad(field, `is not a size: '${v.slice(0, 40)}' (use e.g. "512Mi" or "2G")`);
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) throw bad(field, `has an unknown unit in '${v}'`);
  return Math.round(Number(m[1]) * unit);
}

function nonNegative(field: string, v: unknown, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v)))
    throw bad(field, `must be a non-negative ${integer ? 'integer' : 'number'}`);
  return v;
}

function stringMap(field: string, v: unknown, values: 'any' | 'name'): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw bad(field, 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!ENV_NAME.test(k)) throw bad(`${field}.${k}`, 'is not a valid environment variable name');
    if (RESERVED_ENV.test(k)) throw bad(`${field}.${k}`, 'is set by Falaj for every job and cannot be given');
    if (typeof x !== 'string' || x.length > 32_768) throw bad(`${field}.${k}`, 'must be a string (≤ 32 KiB)');
    if (values === 'name' && !/^[A-Za-z0-9_.-]{1,200}$/.test(x))
      throw bad(`${field}.${k}`, 'must name a secret');
    out[k] = x;
  }
  return out;
}

function resources(v: unknown): Resources {
  if (!isRecord(v)) throw bad('resources', 'must be an object {cpu, memory, gpu, gpuType}');
  for (const k of Object.keys(v))
    if (!['cpu', 'memory', 'gpu', 'gpuType'].includes(k))
      throw bad(`resources.${k}`, 'is not a known resource');
  const cpu = nonNegative('resources.cpu', v.cpu ?? 1, false);
  const gpu = nonNegative('resources.gpu', v.gpu ?? 0, true);
  const memory = parseMemory('resources.memory', v.memory ?? '1Gi');
  if (cpu === 0 && gpu === 0) throw bad('resources', 'must ask for at least some cpu or a gpu');
  const out: { cpu: number; memory: number; gpu: number; gpuType?: string } = { cpu, memory, gpu };
  if (v.gpuType !== undefined) {
    if (typeof v.gpuType !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(v.gpuType))
      throw bad('resources.gpuType', 'must be a GPU type name');
    if (gpu === 0) throw bad('resources.gpuType', 'needs resources.gpu ≥ 1');
    out.gpuType = v.gpuType;
  }
  return out;
}

/** Validates a spec from untrusted JSON; defaults filled in (queue "default", 1 cpu, 1Gi). */
export function parseJobSpec(input: unknown): JobSpec {
  if (!isRecord(input)) throw bad('(spec)', 'must be an object');
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) throw bad(k, 'is not a job spec field');
  const { command } = input;
  if (
    !Array.isArray(command) ||
    command.length === 0 ||
    !command.every((c) => typeof c === 'string' && !c.includes('\u0000'))
  )
    throw bad('command', 'must be a non-empty list of strings (argv; no shell)');
  if (command[0] === '') throw bad('command', 'has an empty program name');
  const spec: Record<string, unknown> = {
    command,
    queue: input.queue ?? 'default',
    resources: resources(input.resources ?? {}),
  };
  if (typeof spec.queue !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(spec.queue))
    throw bad('queue', 'must be a queue name');
  if (input.name !== undefined) {
    if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 200)
      throw bad('name', 'must be 1–200 characters');
    spec.name = input.name;
  }
  if (input.code !== undefined) {
    const c = input.code;
    if (
      !isRecord(c) ||
      Object.keys(c).length !== 1 ||
      !(typeof c.artifact === 'string' || typeof c.path === 'string')
    )
      throw bad('code', 'must be {artifact: "<project file>"} or {path: "<directory>"}');
    spec.code = c;
  }
  if (input.workdir !== undefined) {
    if (typeof input.workdir !== 'string' || input.workdir === '') throw bad('workdir', 'must be a path');
    spec.workdir = input.workdir;
  }
  const env = stringMap('env', input.env, 'any');
  if (Object.keys(env).length) spec.env = env;
  const secrets = stringMap('secrets', input.secrets, 'name');
  if (Object.keys(secrets).length) spec.secrets = secrets;
  if (input.priority !== undefined) {
    if (
      typeof input.priority !== 'number' ||
      !Number.isInteger(input.priority) ||
      Math.abs(input.priority) > 1_000_000
    )
      throw bad('priority', 'must be an integer in [-1000000, 1000000]');
    spec.priority = input.priority;
  }
  if (input.maxRuntimeSeconds !== undefined) {
    const s = nonNegative('maxRuntimeSeconds', input.maxRuntimeSeconds, true);
    if (s === 0) throw bad('maxRuntimeSeconds', 'must be at least 1');
    spec.maxRuntimeSeconds = s;
  }
  if (input.retry !== undefined) {
    const r = input.retry;
    if (!isRecord(r)) throw bad('retry', 'must be {maxAttempts, backoffSeconds}');
    const maxAttempts = nonNegative('retry.maxAttempts', r.maxAttempts ?? 1, true);
    if (maxAttempts < 1 || maxAttempts > 100) throw bad('retry.maxAttempts', 'must be between 1 and 100');
    spec.retry = {
      maxAttempts,
      backoffSeconds: nonNegative('retry.backoffSeconds', r.backoffSeconds ?? 10, false),
    };
  }
  if (input.distributed !== undefined) {
    const d = input.distributed;
    if (!isRecord(d)) throw bad('distributed', 'must be {nodes, procsPerNode}');
    const nodes = nonNegative('distributed.nodes', d.nodes ?? 1, true);
    const procsPerNode = nonNegative('distributed.procsPerNode', d.procsPerNode ?? 1, true);
    if (nodes < 1 || nodes > 4096) throw bad('distributed.nodes', 'must be between 1 and 4096');
    if (procsPerNode < 1 || procsPerNode > 256)
      throw bad('distributed.procsPerNode', 'must be between 1 and 256');
    spec.distributed = { nodes, procsPerNode };
  }
  if (input.mixedPrecision !== undefined) {
    if (!['bf16', 'fp16', 'none'].includes(input.mixedPrecision as string))
      throw bad('mixedPrecision', 'must be bf16, fp16 or none');
    spec.mixedPrecision = input.mixedPrecision;
  }
  return spec as unknown as JobSpec;
}

/** A spec file's text: YAML (JSON is YAML too). */
export function parseJobSpecText(text: string, file = 'spec'): JobSpec {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`,
      {
        file,
      },
    );
  }
  return parseJobSpec(doc);
}
