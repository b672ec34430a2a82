import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { FalajClient } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';
import { promptSecret } from './login.js';

type UserRow = { username: string; mfaEnabled: boolean };

/** Asks for one line on the terminal (a TOTP code is short-lived, so it may echo). */
async function promptLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

const interactive = (opts: { json?: boolean | undefined }) => process.stdin.isTTY === true && !opts.json;

/** A code from a flag, or asked for on a terminal; otherwise a clear error. */
async function codeFrom(value: unknown, opts: { json?: boolean | undefined }, flag: string): Promise<string> {
  if (typeof value === 'string' && value) return value;
  if (interactive(opts)) return promptLine('Code from your authenticator app: ');
  throw new FalajError('FALAJ_INVALID_ARGUMENT', `give the current TOTP code with ${flag}`);
}

function printRecoveryCodes(codes: string[], opts: { json?: boolean | undefined }): void {
  if (opts.json) {
    printResult({ recoveryCodes: codes }, opts);
    return;
  }
  process.stdout.write(`${codes.join('\n')}\n`);
  process.stderr.write(
    'These recovery codes are shown once. Keep them somewhere safe: each logs you in once without your device.\n',
  );
}

async function activate(client: FalajClient, code: string, opts: { json?: boolean | undefined }) {
  const { recoveryCodes } = await client.post<{ recoveryCodes: string[] }>('/api/v1/auth/mfa/activate', {
    code,
  });
  if (!opts.json) process.stderr.write('MFA is on for your account.\n');
  printRecoveryCodes(recoveryCodes, opts);
}

export function registerMfaCommands(program: Command): void {
  const mfa = program.command('mfa').description('TOTP multi-factor authentication');

  remoteOptions(
    mfa
      .command('enroll')
      .description(
        'Start enrolment (password prompted, or piped on stdin): prints the otpauth:// URI and secret for your authenticator app; on a terminal, asks for the first code and activates',
      ),
  ).action(
    action(async (client, opts) => {
      const password = (await promptSecret('Password: ')).trim();
      const res = await client.post<{ secret: string; otpauthUri: string }>('/api/v1/auth/mfa/enroll', {
        password,
      });
      if (opts.json) {
        printResult(res, opts);
        return;
      }
      process.stdout.write(`otpauth URI: ${res.otpauthUri}\nsecret:      ${res.secret}\n`);
      if (!interactive(opts)) {
        process.stderr.write('Add it to your authenticator app, then run `falaj mfa activate <code>`.\n');
        return;
      }
      await activate(
        client,
        await promptLine('Add it to your authenticator app, then enter the code it shows: '),
        opts,
      );
    }),
  );

  remoteOptions(
    mfa
      .command('activate <code>')
      .description('Finish enrolment with a first code; prints one-time recovery codes'),
  ).action(
    action(async (client, opts, code: string) => {
      await activate(client, code, opts);
    }),
  );

  remoteOptions(
    mfa
      .command('disable')
      .description('Turn MFA off for your account (password prompted, or piped on stdin)')
      .option('--code <code>', 'current TOTP code')
      .option('--recovery-code <code>', 'a recovery code instead of a TOTP code'),
  ).action(
    action(async (client, opts) => {
      const password = (await promptSecret('Password: ')).trim();
      const body: Record<string, string> = { password };
      if (typeof opts.recoveryCode === 'string') body.recoveryCode = opts.recoveryCode;
      else body.code = await codeFrom(opts.code, opts, '--code');
      const user = await client.post<UserRow>('/api/v1/auth/mfa/disable', body);
      printMessage(`MFA is off for ${user.username}`, opts, { user });
    }),
  );

  remoteOptions(
    mfa
      .command('recovery-codes')
      .description('Replace your recovery codes by new ones (the old ones stop working)')
      .option('--code <code>', 'current TOTP code'),
  ).action(
    action(async (client, opts) => {
      const code = await codeFrom(opts.code, opts, '--code');
      const { recoveryCodes } = await client.post<{ recoveryCodes: string[] }>(
        '/api/v1/auth/mfa/recovery-codes',
        { code },
      );
      printRecoveryCodes(recoveryCodes, opts);
    }),
  );

  remoteOptions(
    mfa
      .command('require <on|off>')
      .description('Require MFA for every user (platform owner; enable your own MFA first)'),
  ).action(
    action(async (client, opts, state: string) => {
      if (state !== 'on' && state !== 'off')
        throw new FalajError('FALAJ_INVALID_ARGUMENT', `expected 'on' or 'off', got '${state}'`);
      const res = await client.put<{ required: boolean }>('/api/v1/settings/mfa', {
        required: state === 'on',
      });
      printMessage(
        res.required ? 'MFA is now required for every user' : 'MFA is no longer required for every user',
        opts,
        res,
      );
    }),
  );

  remoteOptions(
    mfa
      .command('reset <username>')
      .description("Reset a user's MFA after a lost device (platform owner); ends their sessions"),
  ).action(
    action(async (client, opts, username: string) => {
      const user = await client.delete<UserRow>(`/api/v1/users/${encodeURIComponent(username)}/mfa`);
      printMessage(
        `MFA reset for ${user.username}: they can log in with their password and enrol again`,
        opts,
        {
          user,
        },
      );
    }),
  );
}
