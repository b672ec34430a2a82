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
      'where jobs run: local (default), slurm, or agent (machines running falaj agent) (FALAJ_EXECUTOR)',
    )
    .option('--slurm-partition <name>', 'Slurm partition for jobs (FALAJ_SLURM_PARTITION)')
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
        });
        await runServer(config);
      } catch (err) {
        reportError(err, false);
      }
    });
}
