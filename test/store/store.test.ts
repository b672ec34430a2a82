import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { orderedMigrations } from '../../src/store/migrations/index.js';
import { openStore, redactUrl, type Store } from '../../src/store/store.js';
import { createSandbox, DIALECTS, type Sandbox } from '../support/dialects.js';

describe.each(DIALECTS)('store on %s', (dialect) => {
  const open: Store[] = [];
  const sandboxes: Sandbox[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const s of sandboxes.splice(0)) await s.dispose();
  });
  async function fresh() {
    const sb = await createSandbox(dialect);
    sandboxes.push(sb);
    return sb;
  }
  async function openOn(sb: Sandbox) {
    const s = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    open.push(s);
    return s;
  }

  it('migrates a fresh store and is idempotent on the next start', async () => {
    const sb = await fresh();
    const first = await openOn(sb);
    const names = async (s: Store) =>
      (await s.db.selectFrom('falaj_migrations').select('name').orderBy('name').execute()).map((r) => r.name);
    const all = orderedMigrations().map(([name]) => name);
    expect(all.slice(0, 3)).toEqual(['0001-core', '0002-tracking', '0003-metric-chunks']);
    expect(await names(first)).toEqual(all);
    const second = await openOn(sb);
    expect(await names(second)).toEqual(all);
    expect(first.dialect.name).toBe(dialect);
  });

  it('concurrent starts on one store migrate once, without error', async () => {
    const sb = await fresh();
    const stores = await Promise.all([openOn(sb), openOn(sb), openOn(sb)]);
    for (const s of stores) await s.ping();
    const count = await stores[0]!.db
      .selectFrom('users')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('round-trips times beyond 2^31 as numbers, and booleans as 0/1', async () => {
    const s = await openOn(await fresh());
    const t = Date.UTC(2030, 0, 1);
    await s.db
      .insertInto('users')
      .values({
        id: 'u1',
        username: 'u1',
        password_hash: 'x',
        is_owner: 1,
        disabled: 0,
        mfa_secret: null,
        mfa_enabled: 0,
        mfa_last_step: null,
        created_at: t,
        updated_at: t,
      })
      .execute();
    const row = await s.db.selectFrom('users').selectAll().where('id', '=', 'u1').executeTakeFirstOrThrow();
    expect(row.created_at).toBe(t);
    expect(typeof row.created_at).toBe('number');
    expect(row.is_owner).toBe(1);
  });

  it('rolls back a failed transaction completely', async () => {
    const s = await openOn(await fresh());
    await expect(
      s.db.transaction().execute(async (tx) => {
        await tx.insertInto('settings').values({ key: 'a', value: '1' }).execute();
        await tx.insertInto('settings').values({ key: 'a', value: '2' }).execute(); // duplicate key
      }),
    ).rejects.toThrow();
    expect(await s.db.selectFrom('settings').selectAll().execute()).toEqual([]);
  });

  it.runIf(dialect === 'sqlite')('runs SQLite in WAL mode with foreign keys on', async () => {
    const s = await openOn(await fresh());
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(s.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(s.db);
    expect(fk.rows[0]?.foreign_keys).toBe(1);
  });
});

describe('store errors', () => {
  it('an unreachable PostgreSQL gives FALAJ_STORE_UNAVAILABLE with the password redacted', async () => {
    const err = await openStore({
      dataDir: '/nonexistent',
      databaseUrl: 'postgres://u:secret@127.0.0.1:1/x',
    }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('FALAJ_STORE_UNAVAILABLE');
    expect(String((err as Error).message)).not.toContain('secret');
    expect(redactUrl('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
  });
});
