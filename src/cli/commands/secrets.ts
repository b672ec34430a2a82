import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

function secretsUrl(client: FalajClient): string {
  if (!client.project)
    throw new FalajApiError(
      0,
      'FALAJ_INVALID_ARGUMENT',
      'which project? pass --project or set FALAJ_PROJECT',
    );
  return `/api/v1/projects/${encodeURIComponent(client.project)}/secrets`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Project secrets for jobs: the value is read from stdin (never a command-line argument). */
export function registerSecretCommands(program: Command): void {
  const secrets = program
    .command('secrets')
    .description('Project secrets that jobs receive in their environment (maintainer)');
  remoteOptions(
    secrets.command('set <name>').description('Create or replace a secret; its value is read from stdin'),
  ).action(
    action(async (client, opts, name: string) => {
      const value = await readStdin();
      if (!value)
        throw new FalajApiError(
          0,
          'FALAJ_INVALID_ARGUMENT',
          'no value on stdin (e.g. `printf %s "$PW" | falaj secrets set db`)',
        );
      const res = await client.put<{ name: string; outcome: string }>(
        `${secretsUrl(client)}/${encodeURIComponent(name)}`,
        { value },
      );
      printMessage(`secret ${res.name} ${res.outcome}`, opts, res);
    }),
  );
  remoteOptions(secrets.command('list').description('Secret names (values are never shown)')).action(
    action(async (client, opts) => {
      const { secrets: list } = await client.get<{
        secrets: { name: string; createdBy: string; updatedAt: string }[];
      }>(secretsUrl(client));
      printResult(list, opts, ['name', 'createdBy', 'updatedAt']);
    }),
  );
  remoteOptions(secrets.command('delete <name>').description('Delete a secret')).action(
    action(async (client, opts, name: string) => {
      await client.delete(`${secretsUrl(client)}/${encodeURIComponent(name)}`);
      printMessage(`secret ${name} deleted`, opts);
    }),
  );
}
