import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { FalajConfig } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { FalajApp, Services } from '../http/services.js';
import { CheckpointWriter } from '../security/audit/audit-checkpoints.js';
import { bootstrapAdmin } from '../security/auth/bootstrap.js';
import { redactUrl } from '../store/store.js';
import { buildApp } from './app.js';
import { createServices } from './services-factory.js';

export interface RunningServer {
  app: FalajApp;
  svc: Services;
  url: string;
  /** Stops accepting, finishes requests in flight, closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the server the configuration describes; prints a generated admin password once. */
export async function startServer(
  config: FalajConfig,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const svc = await createServices(config);
  // Signed checkpoints of the audit chain's head, in this server's own data directory.
  const checkpoints = new CheckpointWriter(svc.store, config.dataDir, { logger });
  await checkpoints.start();
  let app: Awaited<ReturnType<typeof buildApp>>;
  let https: { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' } | undefined;
  try {
    const admin = await bootstrapAdmin(svc);
    if (admin?.generatedPassword) {
      // Shown once, on the console only: it is never logged nor stored in the clear.
      process.stdout.write(
        `\nFirst start: created the platform owner 'admin' with password\n\n    ${admin.generatedPassword}\n\n` +
          'It is not shown again. Log in with `falaj login -u admin` and change it.\n\n',
      );
    }
    https = config.tlsCert
      ? {
          cert: readFileSync(config.tlsCert),
          key: readFileSync(config.tlsKey!),
          minVersion: 'TLSv1.2' as const,
        }
      : undefined;
    app = await buildApp(svc, { logger, https });
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // A start that fails half-way (port taken, unreadable certificate) releases what it opened.
    await checkpoints.stop().catch(() => {});
    await svc.store.close().catch(() => {});
    throw err;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${https ? 'https' : 'http'}://${host}:${address.port}`;
  if (config.unsafeUnsandboxedJobs && (config.executor === 'local' || config.executor === 'slurm'))
    await recordUnsandboxedJobs(svc, logger);
  // Jobs reach the server where it listens; the modules' background work starts once it does.
  await app.startModules(url);
  logger.info(
    { url, store: config.databaseUrl ? redactUrl(config.databaseUrl) : svc.store.location },
    'falaj server listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down: no new connections, finishing requests in flight');
      await app.close();
      // After the last request (and its audit event), before the store goes: the final head.
      await checkpoints.stop();
      await svc.store.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { app, svc, url, stop };
}

/**
 * --unsafe-unsandboxed-jobs: said at every start, in the log and in the audit trail, since jobs
 * can then read the keys and the database and forge the trail itself.
 */
async function recordUnsandboxedJobs(svc: Services, logger: Logger): Promise<void> {
  logger.warn(
    { executor: svc.config.executor },
    'jobs run WITHOUT the sandbox (--unsafe-unsandboxed-jobs): any job can read and write the data directory, keys and database',
  );
  await svc.audit.appendAlone(svc.store.db, {
    actor: 'system',
    action: 'server.unsandboxed_jobs',
    objectType: 'server',
    objectId: hostname(),
    sourceIp: 'local',
    outcome: 'success',
    status: 0,
    requestId: 'startup',
    details: { executor: svc.config.executor },
  });
}

/** Runs until SIGTERM/SIGINT, then shuts down gracefully and exits 0. */
export async function runServer(config: FalajConfig): Promise<void> {
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    });
  }
}
