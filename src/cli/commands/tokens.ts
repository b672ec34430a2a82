import type { Command } from 'commander';
import { FalajError } from '../../core/errors.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

type TokenRow = {
  id: string;
  name: string;
  project: string;
  role: string;
  /** An invoke token's one deployment (null: any of the project's). */
  deployment?: string | null;
  owner: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  status: string;
};
const COLUMNS = [
  'id',
  'name',
  'project',
  'role',
  'deployment',
  'owner',
  'status',
  'expiresAt',
  'lastUsedAt',
] as const;

const tokensPath = (project: string) => `/api/v1/projects/${encodeURIComponent(project)}/tokens`;

export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('API tokens: scoped to a project and a role, expiring, shown once');

  remoteOptions(
    tokens
      .command('create <project>')
      .description('Create an API token (printed once: store it now)')
      .requiredOption('--name <name>', 'what the token is for (e.g. "ci-training")')
      .requiredOption(
        '--role <role>',
        'viewer, editor, maintainer or admin (at most your own role), or invoke (calls deployments only)',
      )
      .option('--deployment <name>', 'with --role invoke: the one deployment the token may call')
      .option('--expires-in-days <days>', 'lifetime in days (default 90, at most 365)'),
  ).action(
    action(async (client, opts, project: string) => {
      const body: Record<string, unknown> = { name: String(opts.name), role: String(opts.role) };
      if (opts.deployment !== undefined) {
        if (body.role !== 'invoke')
          throw new FalajError(
            'FALAJ_INVALID_ARGUMENT',
            '--deployment binds an invoke token to one deployment: use it with --role invoke',
          );
        body.deployment = String(opts.deployment);
      }
      if (opts.expiresInDays !== undefined) {
        const days = Number(opts.expiresInDays);
        if (!Number.isInteger(days))
          throw new FalajError('FALAJ_INVALID_ARGUMENT', '--expires-in-days must be a whole number');
        body.expiresInDays = days;
      }
      const res = await client.post<{
        id: string;
        name: string;
        project: string;
        role: string;
        expiresAt: string;
        token: string;
      }>(tokensPath(project), body);
      if (opts.json) {
        printResult(res, opts);
        return;
      }
      process.stdout.write(`${res.token}\n`);
      const scope =
        res.role === 'invoke'
          ? `invoke on ${opts.deployment ? `deployment ${String(opts.deployment)} of ` : 'the deployments of '}${res.project}`
          : `${res.role} on ${res.project}`;
      process.stderr.write(
        `token ${res.id} '${res.name}' (${scope}, expires ${res.expiresAt}): ` +
          'shown once, the server keeps only its hash\n',
      );
    }),
  );

  remoteOptions(
    tokens
      .command('list [project]')
      .description("Your tokens across projects, or a project's (all of them for its admins)"),
  ).action(
    action(async (client, opts, project: string | undefined) => {
      const { tokens } = await client.get<{ tokens: TokenRow[] }>(
        project ? tokensPath(project) : '/api/v1/tokens',
      );
      printResult(tokens, opts, [...COLUMNS]);
    }),
  );

  remoteOptions(
    tokens.command('revoke <project> <id>').description('Revoke a token (your own, or any as project admin)'),
  ).action(
    action(async (client, opts, project: string, id: string) => {
      await client.delete(`${tokensPath(project)}/${encodeURIComponent(id)}`);
      printMessage(`revoked token ${id}`, opts, { id, project, revoked: true });
    }),
  );
}
