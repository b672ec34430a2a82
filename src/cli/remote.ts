import type { Command } from 'commander';
import { FalajApiError, FalajClient, resolveConnection } from '../client/index.js';
import { FalajError } from '../core/errors.js';

/** Global options every remote command accepts. */
export interface RemoteOptions {
  url?: string;
  token?: string;
  /** Project for APIs whose URLs carry none (MLflow's): sent as X-Falaj-Project. */
  project?: string;
  json?: boolean;
}

/**
 * The CLI's client: URL and token from flags, then FALAJ_URL/FALAJ_TOKEN, then the file
 * `falaj login` wrote; no timeout and no retries (a command is run again by hand).
 */
export function cliClient(opts: RemoteOptions): FalajClient {
  return new FalajClient(resolveConnection(opts));
}

/** Adds --url, --token and --json to a command that talks to a server. */
export function remoteOptions(cmd: Command): Command {
  cmd
    .option('--url <url>', 'server URL (default: FALAJ_URL, the login file, or http://127.0.0.1:7460)')
    .option('--token <token>', 'API or session token (default: FALAJ_TOKEN or the login file)');
  // Some commands already take --project as an argument of their own (audit list's filter).
  if (!cmd.options.some((o) => o.long === '--project')) {
    cmd.option(
      '--project <name>',
      "project for the tracking commands (default: FALAJ_PROJECT, or an API token's own)",
    );
  }
  return cmd.option('--json', 'print JSON');
}

/**
 * Wraps an action: builds the client, runs, and turns errors into a one-line message (or a
 * JSON error document with --json) and exit code 1.
 */
export function action<A extends unknown[]>(
  fn: (client: FalajClient, opts: RemoteOptions & Record<string, unknown>, ...args: A) => Promise<void>,
) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts() as RemoteOptions & Record<string, unknown>;
    try {
      await fn(cliClient(opts), opts, ...(args.slice(0, -2) as A));
    } catch (err) {
      reportError(err, opts.json === true);
    }
  };
}

export function reportError(err: unknown, json: boolean): never {
  const code =
    err instanceof FalajApiError ? err.errorCode : err instanceof FalajError ? err.code : 'FALAJ_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  const details = err instanceof FalajApiError || err instanceof FalajError ? err.details : undefined;
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
  else process.stderr.write(`error ${code}: ${message}\n`);
  process.exit(1);
}
