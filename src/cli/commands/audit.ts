import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type ErrorCode, FalajError } from '../../core/errors.js';
import { type AuditVerifyResult, verifyAuditChain } from '../../security/audit/audit-verify.js';
import { openStore } from '../../store/store.js';
import { printResult } from '../output.js';
import { action, remoteOptions, reportError } from '../remote.js';

/** Exit status of `falaj audit verify` when the chain is broken (1 is "could not verify at all"). */
export const EXIT_CHAIN_BROKEN = 2;

type AuditEventView = {
  seq: number;
  time: string;
  actor: string;
  action: string;
  objectType: string;
  objectId: string;
  project: string | null;
  outcome: string;
  status: number;
};

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('The hash-chained audit trail');

  audit
    .command('verify')
    .description(
      'Recompute the audit chain and its signed checkpoints, reading the store directly; exits 2 naming the first bad event',
    )
    .option(
      '--data-dir <dir>',
      'data directory: the SQLite store and the checkpoints (default: FALAJ_DATA_DIR or ./.falaj)',
    )
    .option(
      '--database-url <url>',
      'postgres://... (default: FALAJ_DATABASE_URL, else SQLite in the data dir)',
    )
    .option(
      '--public-key <file>',
      'verify checkpoints with this public key (PEM) instead of the data dir copy',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { dataDir?: string; databaseUrl?: string; publicKey?: string; json?: boolean }) => {
      const json = opts.json === true;
      let result: AuditVerifyResult;
      try {
        result = await verify(opts);
      } catch (err) {
        reportError(err, json);
      }
      const code = result.ok ? undefined : ('FALAJ_AUDIT_CHAIN_BROKEN' satisfies ErrorCode);
      if (json) process.stdout.write(`${JSON.stringify(code ? { code, ...result } : result, null, 2)}\n`);
      else {
        process.stdout.write(describe(result));
        if (code)
          process.stderr.write(`error ${code}: the audit chain is broken at seq ${result.problem!.seq}\n`);
      }
      process.exit(result.ok ? 0 : EXIT_CHAIN_BROKEN);
    });

  remoteOptions(
    audit
      .command('list')
      .description('Audit events through the API (owner: all; a project admin: --project)')
      .option('--project <name>', 'one project (the project route: works for its admins)')
      .option('--actor <actor>', "exact actor, e.g. 'user:alice'")
      .option('--action <action>', "exact action, or a prefix ending in '*'")
      .option('--outcome <outcome>', 'success | failure | denied')
      .option('--since <time>', 'ISO time: events at or after')
      .option('--until <time>', 'ISO time: events at or before')
      .option('--after <seq>', 'paging cursor (the `next` printed by the previous page)')
      .option('--limit <n>', 'events per page (at most 1000)', '100')
      .option('--oldest-first', 'oldest events first (default: newest first)'),
  ).action(
    action(async (client, opts) => {
      const params = new URLSearchParams();
      for (const key of ['actor', 'action', 'outcome', 'since', 'until', 'after', 'limit'] as const) {
        const v = opts[key];
        if (typeof v === 'string' && v !== '') params.set(key, v);
      }
      if (opts.oldestFirst === true) params.set('order', 'oldest');
      const project = typeof opts.project === 'string' ? opts.project : undefined;
      const base = project ? `/api/v1/projects/${encodeURIComponent(project)}/audit` : '/api/v1/audit';
      const page = await client.get<{ events: AuditEventView[]; next?: number }>(`${base}?${params}`);
      if (opts.json) {
        printResult(page, opts);
        return;
      }
      printResult(
        page.events.map((e) => ({ ...e, object: `${e.objectType}:${e.objectId}` })),
        opts,
        ['seq', 'time', 'actor', 'action', 'object', 'project', 'outcome', 'status'],
      );
      if (page.next !== undefined) process.stdout.write(`more: --after ${page.next}\n`);
    }),
  );
}

async function verify(opts: { dataDir?: string; databaseUrl?: string; publicKey?: string }) {
  // The same defaults as the server (src/core/config.ts), without its listening checks.
  const dataDir = path.resolve(opts.dataDir ?? process.env.FALAJ_DATA_DIR ?? '.falaj');
  const databaseUrl = opts.databaseUrl ?? (process.env.FALAJ_DATABASE_URL || undefined);
  if (!databaseUrl && !existsSync(path.join(dataDir, 'falaj.db'))) {
    // Opening SQLite would create an empty store, which would verify as an intact empty chain.
    throw new FalajError('FALAJ_STORE_UNAVAILABLE', `no Falaj store in ${dataDir} (falaj.db not found)`);
  }
  const publicKeyPem = opts.publicKey ? readFileSync(opts.publicKey) : undefined;
  const store = await openStore({ dataDir, databaseUrl, migrate: false });
  try {
    return await verifyAuditChain(store, { dataDir, publicKeyPem });
  } finally {
    await store.close();
  }
}

function describe(r: AuditVerifyResult): string {
  const lines: string[] = [];
  if (r.ok) {
    lines.push(
      `audit chain intact: ${r.events} events, head seq ${r.headSeq} (${r.headHash.slice(0, 16)}…), ${r.checkpointsChecked} signed checkpoints matched`,
    );
  } else {
    const p = r.problem!;
    lines.push(`AUDIT CHAIN BROKEN at seq ${p.seq} (${p.kind}): ${p.message}`);
    lines.push(
      `checked ${r.events} events before it (up to seq ${r.headSeq}), ${r.checkpointsChecked} checkpoints matched`,
    );
  }
  for (const note of r.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}
