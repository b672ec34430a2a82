import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { V1Toleration } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { FalajError } from './errors.js';
import { isWithin } from './paths.js';

/** How a server that runs jobs as Kubernetes Jobs reaches and uses the cluster (the kubeconfig is the standard one). */
/** Where the Kubernetes executor places GPU jobs of one gpuType (`--k8s-gpu-types FILE`). */
export interface GpuPlacementRule {
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly V1Toleration[];
}

export interface KubernetesConfig {
  namespace: string;
  /** The image every job's container runs (a job names a command, not an image). */
  image: string;
  /** gpuType → node selector and tolerations ('*' for any GPU job), from --k8s-gpu-types FILE. */
  gpuTypes: Record<string, GpuPlacementRule> | undefined;
  serviceAccountName: string | undefined;
}

/** Everything the server needs to start; built from flags first, then environment, then defaults. */
export interface FalajConfig {
  dataDir: string;
  /** postgres://... to scale out; unset means the embedded SQLite file in dataDir. */
  databaseUrl: string | undefined;
  host: string;
  port: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy). */
  insecureHttp: boolean;
  adminPassword: string | undefined;
  /** base64 of 32 bytes; when set, the keyring file is sealed under it. */
  masterKey: string | undefined;
  logLevel: string;
  sessionTtlMs: number;
  /** Largest artifact accepted in one upload. */
  maxArtifactBytes: number;
  /** Largest JSON body accepted. */
  bodyLimitBytes: number;
  /** Where jobs run: processes on this machine, a Slurm cluster this machine submits to, or agents (`falaj agent`). */
  executor: 'local' | 'slurm' | 'agent' | 'kubernetes';
  /** Set when executor is kubernetes. */
  kubernetes: KubernetesConfig | undefined;
  /**
   * The URL jobs reach this server at (their FALAJ_URL) when the address it listens on is not
   * reachable from where they run (pods, other machines). Unset: the listen URL.
   */
  publicUrl: string | undefined;
  /** Slurm partition for jobs (default: the cluster's default partition). */
  slurmPartition: string | undefined;
  /**
   * The nvidia-smi the local executor asks for GPUs (FALAJ_NVIDIA_SMI; default the one on
   * PATH). A stand-in script simulates GPUs on a machine without any.
   */
  nvidiaSmi: string | undefined;
  /**
   * Run local and Slurm jobs without the sandbox (--unsafe-unsandboxed-jobs): they then read and
   * write whatever the server can. Warned about and audited at every start.
   */
  unsafeUnsandboxedJobs: boolean;
  /** Folders jobs may read (--job-paths, FALAJ_JOB_PATHS, ':'-separated), besides the system ones. */
  jobPaths: string[];
  /** Folders jobs may read and write (--job-shared-paths, FALAJ_JOB_SHARED_PATHS): shared checkpoints, scratch. */
  jobSharedPaths: string[];
}

export interface ConfigFlags {
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
  host?: string | undefined;
  port?: number | string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  insecureHttp?: boolean | undefined;
  logLevel?: string | undefined;
  executor?: string | undefined;
  slurmPartition?: string | undefined;
  k8sNamespace?: string | undefined;
  k8sImage?: string | undefined;
  /** A JSON or YAML file: gpuType → {nodeSelector, tolerations}. */
  k8sGpuTypes?: string | undefined;
  k8sServiceAccount?: string | undefined;
  publicUrl?: string | undefined;
  unsafeUnsandboxedJobs?: boolean | undefined;
  /** ':'-separated folders, as FALAJ_JOB_PATHS. */
  jobPaths?: string | undefined;
  /** ':'-separated folders, as FALAJ_JOB_SHARED_PATHS. */
  jobSharedPaths?: string | undefined;
}

export const DEFAULT_PORT = 7460;
export const DEFAULT_HOST = '127.0.0.1';

export function resolveConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): FalajConfig {
  const port = Number(flags.port ?? env.FALAJ_PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new FalajError(
      'FALAJ_CONFIG',
      `port must be an integer 0-65535, got '${flags.port ?? env.FALAJ_PORT}'`,
    );
  }
  const executor = parseExecutor(flags.executor ?? env.FALAJ_EXECUTOR ?? 'local');
  const dataDir = path.resolve(flags.dataDir ?? env.FALAJ_DATA_DIR ?? '.falaj');
  const config: FalajConfig = {
    dataDir,
    databaseUrl: flags.databaseUrl ?? (env.FALAJ_DATABASE_URL || undefined),
    host: flags.host ?? env.FALAJ_HOST ?? DEFAULT_HOST,
    port,
    tlsCert: flags.tlsCert ?? (env.FALAJ_TLS_CERT || undefined),
    tlsKey: flags.tlsKey ?? (env.FALAJ_TLS_KEY || undefined),
    insecureHttp: flags.insecureHttp ?? env.FALAJ_INSECURE_HTTP === '1',
    adminPassword: env.FALAJ_ADMIN_PASSWORD || undefined,
    masterKey: env.FALAJ_MASTER_KEY || undefined,
    logLevel: flags.logLevel ?? env.FALAJ_LOG_LEVEL ?? 'info',
    sessionTtlMs: Number(env.FALAJ_SESSION_TTL_HOURS ?? 12) * 3600_000,
    maxArtifactBytes: Number(env.FALAJ_MAX_ARTIFACT_BYTES ?? 64 * 1024 ** 3),
    bodyLimitBytes: Number(env.FALAJ_BODY_LIMIT_BYTES ?? 1024 * 1024),
    executor,
    kubernetes: executor === 'kubernetes' ? kubernetesConfig(flags, env) : undefined,
    publicUrl: parsePublicUrl(flags.publicUrl ?? (env.FALAJ_PUBLIC_URL || undefined)),
    slurmPartition: flags.slurmPartition ?? (env.FALAJ_SLURM_PARTITION || undefined),
    nvidiaSmi: env.FALAJ_NVIDIA_SMI || undefined,
    unsafeUnsandboxedJobs: flags.unsafeUnsandboxedJobs ?? env.FALAJ_UNSAFE_UNSANDBOXED_JOBS === '1',
    jobPaths: parseJobPaths('--job-paths', flags.jobPaths ?? env.FALAJ_JOB_PATHS, dataDir),
    jobSharedPaths: parseJobPaths(
      '--job-shared-paths',
      flags.jobSharedPaths ?? env.FALAJ_JOB_SHARED_PATHS,
      dataDir,
    ),
  };
  checkTransportSecurity(config);
  return config;
}

function parseExecutor(v: string): FalajConfig['executor'] {
  if (v === 'local' || v === 'slurm' || v === 'agent' || v === 'kubernetes') return v;
  throw new FalajError('FALAJ_CONFIG', `executor must be local, slurm, agent or kubernetes, got '${v}'`);
}

function kubernetesConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv): KubernetesConfig {
  const image = flags.k8sImage ?? (env.FALAJ_K8S_IMAGE || undefined);
  if (!image) {
    throw new FalajError(
      'FALAJ_CONFIG',
      'the kubernetes executor needs the image jobs run in: give --k8s-image IMAGE (or FALAJ_K8S_IMAGE)',
    );
  }
  const gpuTypesFile = flags.k8sGpuTypes ?? (env.FALAJ_K8S_GPU_TYPES || undefined);
  return {
    namespace: flags.k8sNamespace ?? (env.FALAJ_K8S_NAMESPACE || 'default'),
    image,
    gpuTypes: gpuTypesFile ? readGpuTypes(gpuTypesFile) : undefined,
    serviceAccountName: flags.k8sServiceAccount ?? (env.FALAJ_K8S_SERVICE_ACCOUNT || undefined),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the GPU placement file (JSON or YAML; JSON is YAML) at startup, so that a typo stops the
 * server with the file's name rather than failing each GPU job later.
 */
export function readGpuTypes(file: string): Record<string, GpuPlacementRule> {
  const bad = (why: string) =>
    new FalajError('FALAJ_CONFIG', `--k8s-gpu-types ${file}: ${why}`, { file: path.resolve(file) });
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw bad((err as Error).message.split('\n')[0] ?? 'unreadable');
  }
  if (!isObject(doc)) throw bad('must map GPU types to {nodeSelector, tolerations}');
  for (const [type, rule] of Object.entries(doc)) {
    if (!isObject(rule)) throw bad(`'${type}' must be {nodeSelector, tolerations}`);
    for (const k of Object.keys(rule)) {
      if (k !== 'nodeSelector' && k !== 'tolerations')
        throw bad(`'${type}': unknown field '${k}' (nodeSelector, tolerations)`);
    }
    const { nodeSelector, tolerations } = rule;
    if (
      nodeSelector !== undefined &&
      (!isObject(nodeSelector) || Object.values(nodeSelector).some((v) => typeof v !== 'string'))
    )
      throw bad(`'${type}'.nodeSelector must map label names to strings`);
    if (tolerations !== undefined && (!Array.isArray(tolerations) || !tolerations.every(isObject)))
      throw bad(`'${type}'.tolerations must be a list of tolerations`);
  }
  return doc as Record<string, GpuPlacementRule>;
}

/** Absolute folders shown to jobs; none of them is, holds, or is inside the data directory (keys, database). */
export function parseJobPaths(flag: string, v: string | undefined, dataDir: string): string[] {
  const paths = (v ?? '').split(':').filter((p) => p !== '');
  for (const p of paths) {
    if (!path.isAbsolute(p))
      throw new FalajError('FALAJ_CONFIG', `${flag} takes absolute folders, got '${p}'`);
    if (isWithin(p, dataDir) || isWithin(dataDir, p))
      throw new FalajError(
        'FALAJ_CONFIG',
        `${flag} must not show jobs the data directory ${dataDir} (keys, database): '${p}' overlaps it`,
      );
  }
  return paths.map((p) => path.resolve(p));
}

function parsePublicUrl(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.host) {
    throw new FalajError(
      'FALAJ_CONFIG',
      `--public-url must be an http(s) URL such as https://falaj.example.com, got '${v}'`,
    );
  }
  // Clients join paths to it ("${FALAJ_URL}/api/v1/..."): no trailing slash.
  return v.replace(/\/+$/, '');
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** Encryption in transit: plain HTTP only on loopback, unless the operator forces it. */
export function checkTransportSecurity(config: FalajConfig): void {
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new FalajError('FALAJ_CONFIG', '--tls-cert and --tls-key must be given together');
  }
  if (!config.tlsCert && !isLoopback(config.host) && !config.insecureHttp) {
    throw new FalajError(
      'FALAJ_CONFIG',
      `refusing plain HTTP on non-loopback address ${config.host}: give --tls-cert/--tls-key, or --insecure-http behind a TLS-terminating proxy`,
    );
  }
}
