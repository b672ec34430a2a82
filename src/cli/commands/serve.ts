// `falaj serve`: a serving replica, a client of a Falaj server (src/serving/replicas/), or with
// --manifest the Kubernetes Deployment and Service that run such replicas.
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { FalajClient, resolveConnection } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import { serveManifestYaml } from '../../serving/replicas/manifest.js';
import { startReplica } from '../../serving/replicas/replica.js';
import { reportError } from '../remote.js';

interface ServeFlags {
  url?: string;
  token?: string;
  project?: string;
  deployments?: string;
  host?: string;
  port?: string;
  advertise?: string;
  replicaId?: string;
  cacheDir?: string;
  manifest?: boolean;
  replicas?: string;
  image?: string;
  name?: string;
  namespace?: string;
  tokenSecret?: string;
}

function integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `${flag} must be an integer from ${min} to ${max}`);
  return n;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve deployments placed on replicas (placement: replicas) as a client of a Falaj server: ' +
        'loads them through the API, answers the V2 and MLflow endpoints under /serving/<project>/<deployment>, ' +
        "/healthz and /readyz, reports readiness every 2 s and ships its request log; SIGTERM leaves the servers' " +
        'lists first, then finishes. With --manifest, prints a Kubernetes Deployment and Service instead',
    )
    .option('--url <url>', 'server URL (default: FALAJ_URL, the login file, or http://127.0.0.1:7460)')
    .option(
      '--token <token>',
      'token with the editor role on the project (default: FALAJ_TOKEN or the login file)',
    )
    .option('--project <name>', 'project of the deployments (default: FALAJ_PROJECT)')
    .option(
      '--deployments <names>',
      'comma-separated deployments (default: every deployment placed on replicas)',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '7461')
    .option('--advertise <url>', 'URL the servers reach this replica at (default: http://<host>:<port>)')
    .option('--replica-id <id>', "this replica's id (default: <hostname>-<random>)")
    .option('--cache-dir <dir>', 'where model files are fetched (default: a folder under TMPDIR)')
    .option('--manifest', 'print a Kubernetes Deployment + Service YAML running `falaj serve`, and exit')
    .option('--replicas <n>', 'with --manifest: pods', '2')
    .option('--image <image>', 'with --manifest: container image with falaj installed')
    .option('--name <name>', 'with --manifest: the Deployment and Service name', 'falaj-serve')
    .option('--namespace <ns>', 'with --manifest: namespace')
    .option(
      '--token-secret <name>',
      'with --manifest: Secret whose key `token` holds FALAJ_TOKEN',
      'falaj-serve-token',
    )
    .action(async (flags: ServeFlags) => {
      try {
        await serve(flags);
      } catch (err) {
        reportError(err, false);
      }
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  // As a job: the job's own FALAJ_TOKEN may change only its run, so a project token of role
  // editor comes in FALAJ_SERVE_TOKEN (a project secret named in the job's spec.secrets).
  const conn = resolveConnection({
    url: flags.url,
    token: flags.token || process.env.FALAJ_SERVE_TOKEN,
    project: flags.project,
  });
  const project = conn.project;
  if (!project)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'falaj serve needs --project (or FALAJ_PROJECT)');
  const deployments = (flags.deployments ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const port = integer('--port', flags.port ?? '7461', 0, 65535);
  if (flags.manifest) {
    process.stdout.write(
      serveManifestYaml({
        name: flags.name ?? 'falaj-serve',
        ...(flags.namespace ? { namespace: flags.namespace } : {}),
        image: flags.image ?? '',
        replicas: integer('--replicas', flags.replicas ?? '2', 1, 1000),
        serverUrl: conn.url,
        project,
        deployments,
        tokenSecret: flags.tokenSecret ?? 'falaj-serve-token',
        port: port === 0 ? 7461 : port,
      }),
    );
    return;
  }
  const log = (level: string, msg: string, facts?: Record<string, unknown>) =>
    process.stderr.write(`${JSON.stringify({ level, time: Date.now(), msg, ...facts })}\n`);
  const replica = await startReplica({
    client: new FalajClient({ ...conn, retries: 2 }),
    project,
    deployments,
    host: flags.host ?? '127.0.0.1',
    port,
    ...(flags.advertise ? { advertise: flags.advertise } : {}),
    ...(flags.replicaId ? { replicaId: flags.replicaId } : {}),
    cacheDir: path.resolve(flags.cacheDir ?? path.join(os.tmpdir(), `falaj-serve-${process.pid}`)),
    log,
  });
  process.stdout.write(
    `${JSON.stringify({
      msg: 'falaj serve listening',
      url: replica.url,
      advertise: replica.advertise,
      replica: replica.id,
      project,
      deployments: replica.deployments,
    })}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log('info', `serve: ${signal}: leaving`);
    void replica.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log('error', 'serve: stop failed', { err: err.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
