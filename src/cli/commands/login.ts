import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { cliConfigPath, readCliConfig, writeCliConfig } from '../../client/index.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

/** Reads a line from the terminal without echoing it (or from stdin when piped). */
export async function promptSecret(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  const out = rl as unknown as { _writeToOutput?: (s: string) => void; output: NodeJS.WritableStream };
  if (process.stdin.isTTY) {
    process.stderr.write(question);
    out._writeToOutput = () => {};
  }
  const answer = await rl.question(process.stdin.isTTY ? '' : question);
  rl.close();
  if (process.stdin.isTTY) process.stderr.write('\n');
  return answer;
}

export function registerLoginCommands(program: Command): void {
  remoteOptions(
    program
      .command('login')
      .description(
        'Log in and remember the server URL and session token (password prompted, or piped on stdin)',
      )
      .requiredOption('-u, --username <name>', 'username')
      .option('--totp <code>', 'TOTP code from your authenticator app')
      .option('--recovery-code <code>', 'a one-time recovery code instead of a TOTP code'),
  ).action(
    action(async (client, opts) => {
      const password = await promptSecret('Password: ');
      const body: Record<string, string> = { username: String(opts.username), password: password.trim() };
      if (opts.totp) body.totp = String(opts.totp);
      if (opts.recoveryCode) body.recoveryCode = String(opts.recoveryCode);
      const res = await client.request<{ token: string; expiresAt: string; mfaEnrollmentRequired: boolean }>(
        'POST',
        '/api/v1/auth/login',
        { json: body, auth: false },
      );
      const file = writeCliConfig({ url: client.url, token: res.token, username: String(opts.username) });
      printMessage(
        `logged in to ${client.url} as ${opts.username} (session until ${res.expiresAt}); saved to ${file}`,
        opts,
        {
          url: client.url,
          expiresAt: res.expiresAt,
          mfaEnrollmentRequired: res.mfaEnrollmentRequired,
        },
      );
      if (res.mfaEnrollmentRequired && !opts.json) {
        process.stderr.write('MFA is required on this server: run `falaj mfa enroll` now.\n');
      }
    }),
  );

  remoteOptions(program.command('logout').description('End the session and forget the token')).action(
    action(async (client, opts) => {
      await client.post('/api/v1/auth/logout');
      const current = readCliConfig();
      writeCliConfig({ ...(current.url ? { url: current.url } : {}) });
      printMessage(`logged out; token removed from ${cliConfigPath()}`, opts);
    }),
  );

  remoteOptions(
    program.command('whoami').description('Show the calling identity and its memberships'),
  ).action(
    action(async (client, opts) => {
      const me = await client.get<{
        user: { username: string; owner: boolean };
        kind: string;
        memberships: object[];
      }>('/api/v1/auth/me');
      if (opts.json) printResult(me, opts);
      else {
        printMessage(`${me.user.username} (${me.kind}${me.user.owner ? ', platform owner' : ''})`, opts);
        if (me.memberships.length)
          printResult(me.memberships as { project: string; role: string }[], opts, ['project', 'role']);
      }
    }),
  );
}
