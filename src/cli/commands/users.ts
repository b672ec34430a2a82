import type { Command } from 'commander';
import { printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';
import { promptSecret } from './login.js';

const COLUMNS = ['username', 'owner', 'disabled', 'mfaEnabled', 'createdAt'] as const;
type UserRow = Record<(typeof COLUMNS)[number], unknown>;

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('Manage user accounts (platform owner)');

  remoteOptions(users.command('list').description('List users')).action(
    action(async (client, opts) => {
      const { users } = await client.get<{ users: UserRow[] }>('/api/v1/users');
      printResult(users, opts, [...COLUMNS]);
    }),
  );

  remoteOptions(
    users
      .command('create <username>')
      .description('Create a user; the password is prompted (or piped on stdin)')
      .option('--owner', 'make the user a platform owner'),
  ).action(
    action(async (client, opts, username: string) => {
      const password = (await promptSecret(`Password for ${username}: `)).trim();
      const user = await client.post<UserRow>('/api/v1/users', {
        username,
        password,
        owner: opts.owner === true,
      });
      printResult(user, opts, [...COLUMNS]);
    }),
  );

  remoteOptions(users.command('show <username>').description('Show a user')).action(
    action(async (client, opts, username: string) => {
      printResult(await client.get<UserRow>(`/api/v1/users/${encodeURIComponent(username)}`), opts, [
        ...COLUMNS,
      ]);
    }),
  );

  for (const [name, body, what] of [
    ['disable', { disabled: true }, 'Disable a user (ends their sessions; their tokens stop working)'],
    ['enable', { disabled: false }, 'Enable a disabled user'],
    ['grant-owner', { owner: true }, 'Make a user a platform owner'],
    ['revoke-owner', { owner: false }, 'Withdraw platform ownership'],
  ] as const) {
    remoteOptions(users.command(`${name} <username>`).description(what)).action(
      action(async (client, opts, username: string) => {
        printResult(
          await client.patch<UserRow>(`/api/v1/users/${encodeURIComponent(username)}`, body),
          opts,
          [...COLUMNS],
        );
      }),
    );
  }

  remoteOptions(
    users.command('reset-password <username>').description('Set a new password for a user (prompted)'),
  ).action(
    action(async (client, opts, username: string) => {
      const password = (await promptSecret(`New password for ${username}: `)).trim();
      printResult(
        await client.patch<UserRow>(`/api/v1/users/${encodeURIComponent(username)}`, { password }),
        opts,
        [...COLUMNS],
      );
    }),
  );
}
