import type { Command } from 'commander';
import { resolveConfig } from '../../core/config.js';
import { runServer } from '../../server/server.js';
import { reportError } from '../remote.js';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description(
      'Run the Falaj server (embedded SQLite in the data dir, or PostgreSQL with FALAJ_DATABASE_URL)',
    )
    .option('--data-dir <dir>', 'data directory (default: FALAJ_DATA_DIR or ./.falaj)')
    .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: 7460)')
    .option(
      '--database-url <url>',
      'postgres://... (default: FALAJ_DATABASE_URL, else SQLite in the data dir)',
    )
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (TLS 1.2+, HSTS)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--insecure-http', 'allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)')
    .option('--log-level <level>', 'pino log level', undefined)
    .option(
      '--executor <kind>',
      'where jobs run: local (default), slurm, agent (machines running falaj agent), or kubernetes (FALAJ_EXECUTOR)',
    )
    .option('--slurm-partition <name>', 'Slurm partition for jobs (FALAJ_SLURM_PARTITION)')
    .option(
      '--k8s-namespace <ns>',
      'Kubernetes namespace for jobs (FALAJ_K8S_NAMESPACE; default "default"); the cluster is the kubeconfig\'s (KUBECONFIG, ~/.kube/config, or in-cluster)',
    )
    .option(
      '--k8s-image <image>',
      'container image jobs run in; required with --executor kubernetes (FALAJ_K8S_IMAGE)',
    )
    .option(
      '--k8s-gpu-types <file>',
      'JSON or YAML: GPU type → {nodeSelector, tolerations} ("*" for any GPU job) (FALAJ_K8S_GPU_TYPES)',
    )
    .option('--k8s-service-account <name>', 'service account of the job pods (FALAJ_K8S_SERVICE_ACCOUNT)')
    .option(
      '--public-url <url>',
      'URL jobs reach this server at (their FALAJ_URL) when the listen address is not reachable from pods or other machines (FALAJ_PUBLIC_URL)',
    )
    .option(
      '--job-paths <dirs>',
      "':'-separated folders jobs may read (read-only) besides the system ones, e.g. shared data sets (FALAJ_JOB_PATHS)",
    )
    .option(
      '--job-shared-paths <dirs>',
      "':'-separated folders jobs may read and write, e.g. shared checkpoints (FALAJ_JOB_SHARED_PATHS)",
    )
    .option(
      '--unsafe-unsandboxed-jobs',
      'run local and Slurm jobs WITHOUT the sandbox: they can read the keys and the database (warned and audited at every start)',
    )
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      try {
        const config = resolveConfig({
          dataDir: opts.dataDir as string | undefined,
          databaseUrl: opts.databaseUrl as string | undefined,
          host: opts.host as string | undefined,
          port: opts.port as string | undefined,
          tlsCert: opts.tlsCert as string | undefined,
          tlsKey: opts.tlsKey as string | undefined,
          insecureHttp: opts.insecureHttp === true ? true : undefined,
          logLevel: opts.logLevel as string | undefined,
          executor: opts.executor as string | undefined,
          slurmPartition: opts.slurmPartition as string | undefined,
          k8sNamespace: opts.k8sNamespace as string | undefined,
          k8sImage: opts.k8sImage as string | undefined,
          k8sGpuTypes: opts.k8sGpuTypes as string | undefined,
          k8sServiceAccount: opts.k8sServiceAccount as string | undefined,
          publicUrl: opts.publicUrl as string | undefined,
          jobPaths: opts.jobPaths as string | undefined,
          jobSharedPaths: opts.jobSharedPaths as string | undefined,
          unsafeUnsandboxedJobs: opts.unsafeUnsandboxedJobs === true ? true : undefined,
        });
        await runServer(config);
      } catch (err) {
        reportError(err, false);
      }
    });
}
