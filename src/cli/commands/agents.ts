// `falaj agents ...`: the owner's view of agents and their tokens (`falaj agent` runs one).
import type { Command } from 'commander';
import { FalajError } from '../../core/errors.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

type TokenRow = {
  id: string;
  name: string;
  status: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
};

type AgentRow = {
  id: string;
  name: string;
  state: string;
  capacity: { cpu: number; memory: number; gpus: Record<string, number[]> };
  attempts: number;
  lastSeenAt: string;
};

const GiB = 1024 ** 3;

export function registerAgentsCommands(program: Command): void {
  const agents = program
    .command('agents')
    .description('Agents (`falaj agent` on worker machines) and their tokens; platform owner only');

  remoteOptions(
    agents
      .command('list')
      .description('Live, draining and recently lost agents')
      .option('--all', 'every agent on record'),
  ).action(
    action(async (client, opts) => {
      const { agents: rows } = await client.get<{ agents: AgentRow[] }>(
        `/api/v1/agents${opts.all ? '?all=true' : ''}`,
      );
      if (opts.json) return printResult(rows, opts);
      const table = rows.map((a) => ({
        id: a.id,
        name: a.name,
        state: a.state,
        cpu: a.capacity.cpu,
        memory: `${(a.capacity.memory / GiB).toFixed(1)}Gi`,
        gpus: Object.entries(a.capacity.gpus)
          .map(([t, i]) => `${i.length}×${t}`)
          .join(' '),
        attempts: a.attempts,
        lastSeenAt: a.lastSeenAt,
      }));
      printResult(table, opts, ['id', 'name', 'state', 'cpu', 'memory', 'gpus', 'attempts', 'lastSeenAt']);
    }),
  );

  remoteOptions(
    agents
      .command('remove <id>')
      .description("End an agent's lease now: its unfinished attempts are retried elsewhere"),
  ).action(
    action(async (client, opts, id: string) => {
      await client.delete(`/api/v1/agents/${encodeURIComponent(id)}`);
      printMessage(`removed agent ${id}`, opts, { id, removed: true });
    }),
  );

  const tokens = agents.command('tokens').description('Agent tokens: what `falaj agent --token` runs with');

  remoteOptions(
    tokens
      .command('create <name>')
      .description('Create an agent token (printed once: store it now)')
      .option('--expires-in-days <days>', 'lifetime in days (default: until revoked)'),
  ).action(
    action(async (client, opts, name: string) => {
      const body: Record<string, unknown> = { name };
      if (opts.expiresInDays !== undefined) {
        const days = Number(opts.expiresInDays);
        if (!Number.isInteger(days) || days < 1)
          throw new FalajError('FALAJ_INVALID_ARGUMENT', '--expires-in-days must be a whole number ≥ 1');
        body.expiresInDays = days;
      }
      const res = await client.post<{ id: string; name: string; expiresAt: string | null; token: string }>(
        '/api/v1/agent-tokens',
        body,
      );
      if (opts.json) return printResult(res, opts);
      process.stdout.write(`${res.token}\n`);
      process.stderr.write(
        `agent token ${res.id} '${res.name}' (${res.expiresAt ? `expires ${res.expiresAt}` : 'no expiry'}): ` +
          'shown once, the server keeps only its hash\n',
      );
    }),
  );

  remoteOptions(tokens.command('list').description('Agent tokens (never their secrets)')).action(
    action(async (client, opts) => {
      const { tokens: rows } = await client.get<{ tokens: TokenRow[] }>('/api/v1/agent-tokens');
      printResult(rows, opts, ['id', 'name', 'status', 'createdBy', 'expiresAt', 'lastUsedAt']);
    }),
  );

  remoteOptions(
    tokens
      .command('revoke <id>')
      .description("Revoke an agent token: its agents' leases end now and their work is retried elsewhere"),
  ).action(
    action(async (client, opts, id: string) => {
      await client.delete(`/api/v1/agent-tokens/${encodeURIComponent(id)}`);
      printMessage(`revoked agent token ${id}`, opts, { id, revoked: true });
    }),
  );
}
