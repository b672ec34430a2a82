import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { keyUsage, type RotationReport, rotateKeys } from '../../artifacts/key-rotation.js';
import { LocalArtifactStore } from '../../artifacts/local-artifact-store.js';
import { systemClock } from '../../core/clock.js';
import { resolveConfig } from '../../core/config.js';
import { FalajError } from '../../core/errors.js';
import { AuditLog } from '../../security/audit/audit-log.js';
import { Keyring } from '../../security/secrets/keyring.js';
import { openStore, type Store } from '../../store/store.js';
import { printMessage, printResult } from '../output.js';
import { reportError } from '../remote.js';

interface OfflineOptions {
  dataDir?: string;
  databaseUrl?: string;
  json?: boolean;
}

function offlineOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default: FALAJ_DATA_DIR or ./.falaj)')
    .option(
      '--database-url <url>',
      'postgres://... (default: FALAJ_DATABASE_URL, else SQLite in the data dir)',
    )
    .option('--json', 'print JSON');
}

/**
 * Opens the keyring, the store and the artifact folder directly, as the server does. Safe
 * beside a running server: every file is replaced atomically, and a server meeting a key
 * version it does not know reloads the keyring. FALAJ_MASTER_KEY must be the server's.
 */
async function openOffline(opts: OfflineOptions): Promise<{
  keyring: Keyring;
  store: Store;
  artifacts: LocalArtifactStore;
  audit: AuditLog;
}> {
  const config = resolveConfig({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl });
  // Refused rather than created: a mistyped --data-dir must not grow a fresh, empty keyring.
  if (!existsSync(path.join(config.dataDir, 'keys', 'keyring.json'))) {
    throw new FalajError('FALAJ_CONFIG', `no keyring in ${config.dataDir}: is --data-dir right?`);
  }
  const keyring = Keyring.open(config.dataDir, config.masterKey);
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const artifacts = new LocalArtifactStore(path.join(config.dataDir, 'artifacts'), keyring);
  return { keyring, store, artifacts, audit: new AuditLog(store.dialect, systemClock) };
}

function localActor(): string {
  try {
    return `local:${os.userInfo().username}`;
  } catch {
    return 'local';
  }
}

function describe(r: RotationReport): string {
  const part = (label: string, c: RotationReport['artifacts']) =>
    `${c.rewrapped} of ${c.total} ${label} re-wrapped${c.failed.length ? `, ${c.failed.length} FAILED` : ''}`;
  return (
    `key version ${r.version} is now current (was ${r.previousVersion}); ` +
    `${part('artifact data keys', r.artifacts)}; ${part('MFA secrets', r.mfaSecrets)}; ${part('project secrets', r.projectSecrets)}. ` +
    'Data files were not rewritten; older key versions stay in the keyring.'
  );
}

export function registerKeyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('Key-encryption keys of the data directory (offline admin tool, safe while a server runs)');

  offlineOptions(
    keys
      .command('rotate')
      .description(
        'Add a key version, make it current, and re-wrap every artifact data key and MFA secret under it',
      ),
  ).action(async (opts: OfflineOptions) => {
    try {
      const deps = await openOffline(opts);
      try {
        const report = await rotateKeys(deps, localActor());
        const failed = [
          ...report.artifacts.failed,
          ...report.mfaSecrets.failed,
          ...report.projectSecrets.failed,
        ];
        if (opts.json) printResult(report, opts);
        else {
          printMessage(describe(report), opts);
          for (const f of failed) process.stderr.write(`  failed ${f.id}: ${f.code} ${f.message}\n`);
        }
        if (failed.length) process.exitCode = 1;
      } finally {
        await deps.store.close();
      }
    } catch (err) {
      reportError(err, opts.json === true);
    }
  });

  offlineOptions(
    keys.command('list').description('Key versions, the current one, and how many keys each still wraps'),
  ).action(async (opts: OfflineOptions) => {
    try {
      const deps = await openOffline(opts);
      try {
        const usage = await keyUsage(deps);
        printResult(usage, opts, ['version', 'current', 'createdAt', 'artifacts', 'mfaSecrets']);
      } finally {
        await deps.store.close();
      }
    } catch (err) {
      reportError(err, opts.json === true);
    }
  });
}
