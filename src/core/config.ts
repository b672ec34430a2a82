import { isIP } from 'node:net';
import path from 'node:path';
import { FalajError } from './errors.js';

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
  executor: 'local' | 'slurm' | 'agent';
  /** Slurm partition for jobs (default: the cluster's default partition). */
  slurmPartition: string | undefined;
  /**
   * The nvidia-smi the local executor asks for GPUs (FALAJ_NVIDIA_SMI; default the one on
   * PATH). A stand-in script simulates GPUs on a machine without any.
   */
  nvidiaSmi: string | undefined;
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
  const config: FalajConfig = {
    dataDir: path.resolve(flags.dataDir ?? env.FALAJ_DATA_DIR ?? '.falaj'),
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
    executor: parseExecutor(flags.executor ?? env.FALAJ_EXECUTOR ?? 'local'),
    slurmPartition: flags.slurmPartition ?? (env.FALAJ_SLURM_PARTITION || undefined),
    nvidiaSmi: env.FALAJ_NVIDIA_SMI || undefined,
  };
  checkTransportSecurity(config);
  return config;
}

function parseExecutor(v: string): FalajConfig['executor'] {
  if (v === 'local' || v === 'slurm' || v === 'agent') return v;
  throw new FalajError(
    'FALAJ_CONFIG',
    `executor must be local, slurm or agent, got '${v}' (kubernetes is not wired into the server yet)`,
  );
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
