// Builders for audit-chain tests: a store with a chain of events, and the tools of an intruder
// who has database access (drops the append-only triggers, then edits rows).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { ManualClock } from '../../../src/core/clock.js';
import { CheckpointWriter } from '../../../src/security/audit/audit-checkpoints.js';
import { AuditLog, type AuditOutcome, eventHash } from '../../../src/security/audit/audit-log.js';
import type { AuditEventsTable } from '../../../src/store/schema.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { createSandbox, type DialectName, type Sandbox } from '../../support/dialects.js';

export interface Chain {
  sandbox: Sandbox;
  store: Store;
  clock: ManualClock;
  audit: AuditLog;
  /** Checkpoints go to the sandbox's data dir; tests call checkpointNow(), no timer runs. */
  writer: CheckpointWriter;
  append(n: number): Promise<void>;
  close(): Promise<void>;
}

const OUTCOMES: AuditOutcome[] = ['success', 'failure', 'denied'];

/** A fresh store holding `n` events (seq 1..n), with no checkpoint yet. */
export async function chainOf(dialect: DialectName, n: number): Promise<Chain> {
  const sandbox = await createSandbox(dialect);
  const store = await openStore({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 9, 0, 0));
  const audit = new AuditLog(store.dialect, clock);
  let count = 0;
  const append = async (k: number) => {
    for (let i = 0; i < k; i++) {
      count += 1;
      clock.advance(1000);
      await audit.appendAlone(store.db, {
        actor: `user:u${count % 3}`,
        action: count % 2 ? 'project.create' : 'user.create',
        objectType: 'thing',
        objectId: `obj-${count}`,
        projectId: null,
        sourceIp: '127.0.0.1',
        outcome: OUTCOMES[count % 3]!,
        status: 200,
        requestId: `req-${count}`,
        details: { n: count, nested: { b: 2, a: 1 } },
      });
    }
  };
  await append(n);
  const writer = new CheckpointWriter(store, sandbox.dataDir, { clock });
  return {
    sandbox,
    store,
    clock,
    audit,
    writer,
    append,
    async close() {
      await store.close();
      await sandbox.dispose();
    },
  };
}

/** What an intruder with database access does first. */
export async function dropTriggers(store: Store): Promise<void> {
  if (store.dialect.name === 'postgres') {
    await sql`drop trigger audit_events_no_update on audit_events`.execute(store.db);
    await sql`drop trigger audit_events_no_truncate on audit_events`.execute(store.db);
  } else {
    await sql`drop trigger audit_events_no_update`.execute(store.db);
    await sql`drop trigger audit_events_no_delete`.execute(store.db);
  }
}

export async function row(store: Store, seq: number): Promise<AuditEventsTable> {
  return store.db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
}

/** Moves a row to another seq (the primary key) without touching anything else. */
export async function renumber(store: Store, from: number, to: number): Promise<void> {
  await store.db.updateTable('audit_events').set({ seq: to }).where('seq', '=', from).execute();
}

/** Swaps two events' places: each row's content now sits under the other's seq. */
export async function swap(store: Store, a: number, b: number): Promise<void> {
  await renumber(store, a, -1);
  await renumber(store, b, a);
  await renumber(store, -1, b);
}

/** Recomputes the hashes of every row from `from` on, as a careful intruder would. */
export async function rehashFrom(store: Store, from: number): Promise<void> {
  const rows = await store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
  let prevHash = rows.find((r) => r.seq === from - 1)?.hash;
  for (const r of rows) {
    if (r.seq < from) continue;
    const partial = { ...r, prev_hash: prevHash ?? r.prev_hash };
    const hash = eventHash(partial);
    await store.db
      .updateTable('audit_events')
      .set({ prev_hash: partial.prev_hash, hash })
      .where('seq', '=', r.seq)
      .execute();
    prevHash = hash;
  }
}

export const CLI = path.resolve('bin/falaj.js');

/** Runs the built CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(path.resolve('dist/cli/main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` before these tests');
  }
  // The caller's own FALAJ_* settings must not leak into the command under test.
  const base = { ...process.env };
  delete base.FALAJ_DATABASE_URL;
  delete base.FALAJ_DATA_DIR;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...base, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
