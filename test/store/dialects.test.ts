import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresDialect } from '../../src/store/dialects/postgres.js';
import { likeToGlob, sqliteDialect } from '../../src/store/dialects/sqlite.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createSandbox, DIALECTS, type Sandbox } from '../support/dialects.js';

describe('likeToGlob', () => {
  it('turns LIKE wildcards into GLOB ones and GLOB metacharacters into literals', () => {
    expect(likeToGlob('a%b_c')).toBe('a*b?c');
    expect(likeToGlob('*?[]')).toBe('[*][?][[]]');
    expect(likeToGlob('50\\%\\_off')).toBe('50%_off');
    expect(likeToGlob('x\\\\y')).toBe('x\\y');
    expect(likeToGlob('\\*')).toBe('[*]');
    expect(likeToGlob('a\\_b%')).toBe('a_b*');
  });
});

describe('dialect objects', () => {
  it('name their dialect', () => {
    expect(sqliteDialect.name).toBe('sqlite');
    expect(postgresDialect.name).toBe('postgres');
  });

  it('keep the column types released migrations were written with', () => {
    expect(sqliteDialect.types).toEqual({
      time: 'integer',
      int64: 'integer',
      double: 'real',
      bytes: 'blob',
      serial: 'integer',
    });
    expect(postgresDialect.types).toEqual({
      time: 'bigint',
      int64: 'bigint',
      double: 'double precision',
      bytes: 'bytea',
      serial: 'bigserial',
    });
  });

  it('write parameter placeholders and say which locks they have', () => {
    expect([1, 2, 7].map((i) => sqliteDialect.parameter(i))).toEqual(['?', '?', '?']);
    expect([1, 2, 7].map((i) => postgresDialect.parameter(i))).toEqual(['$1', '$2', '$7']);
    expect([sqliteDialect.rowLocks, sqliteDialect.advisoryLocks]).toEqual([false, false]);
    expect([postgresDialect.rowLocks, postgresDialect.advisoryLocks]).toEqual([true, true]);
  });
});

// [value, pattern, matches LIKE, matches ILIKE]
const LIKE_CASES: [string, string, boolean, boolean][] = [
  ['a_b1', 'a\\_b%', true, true],
  ['axb1', 'a\\_b%', false, false],
  ['A_B1', 'a\\_b%', false, true],
  ['a_b1', 'a_b%', true, true],
  ['axb1', 'a_b%', true, true],
  ['50%off', '50\\%%', true, true],
  ['50xoff', '50\\%%', false, false],
  ['x\\y', 'x\\\\y', true, true],
  ['xy', 'x\\\\y', false, false],
  ['a*b', 'a*b', true, true],
  ['axb', 'a*b', false, false],
  ['a?b', 'a?b', true, true],
  ['axb', 'a?b', false, false],
  ['a[b]', 'a[b]', true, true],
  ['ab', 'a[b]', false, false],
  ['Fraud', 'fraud', false, true],
  ['fraud', 'fraud', true, true],
];

describe.each(DIALECTS)('the %s dialect on its database', (name) => {
  let sb: Sandbox;
  let store: Store;
  beforeAll(async () => {
    sb = await createSandbox(name);
    store = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
  });
  afterAll(async () => {
    await store?.close();
    await sb?.dispose();
  });

  it('is the store’s dialect', () => {
    expect(store.dialect).toBe(name === 'postgres' ? postgresDialect : sqliteDialect);
  });

  it.each(LIKE_CASES)('%j LIKE %j is %s, ILIKE %s (with \\ escapes)', async (value, pattern, like, ilike) => {
    const v = sql`cast(${value} as text)`;
    const d = store.dialect;
    const { rows } = await sql<{ l: number; i: number }>`select
      case when ${d.like(v, pattern)} then 1 else 0 end as l,
      case when ${d.ilike(v, pattern)} then 1 else 0 end as i`.execute(store.db);
    expect([rows[0]!.l === 1, rows[0]!.i === 1]).toEqual([like, ilike]);
  });

  it('orders text by bytes', async () => {
    const { rows } = await sql<{ v: string }>`select v from (select 'a' as v union all select 'B' union all
      select '_' union all select 'b') as t order by ${store.dialect.byteOrder(sql.ref('v'))}`.execute(
      store.db,
    );
    expect(rows.map((r) => r.v)).toEqual(['B', '_', 'a', 'b']);
  });

  it('compares a bound double with an integer column, and keeps a column off its index', async () => {
    await store.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
    const { rows } = await sql<{ key: string }>`select key from settings
      where ${store.dialect.unindexed(sql.ref('key'))} = ${'k'} and 2 > ${store.dialect.double(1.5)}`.execute(
      store.db,
    );
    expect(rows).toEqual([{ key: 'k' }]);
  });

  it('locks rows and takes transaction locks inside a transaction', async () => {
    await store.db.transaction().execute(async (tx) => {
      await store.dialect.transactionLock(tx, 42);
      await store.dialect.transactionLock(tx, 42);
      const { rows } = await sql<{
        key: string;
      }>`select key from settings where key = ${'k'}${store.dialect.forUpdate()}`.execute(tx);
      expect(rows).toHaveLength(1);
    });
  });

  it('writes raw placeholders the driver accepts', async () => {
    const p = (i: number) => `cast(${store.dialect.parameter(i)} as text)`;
    const { rows } = await store.db.executeQuery<{ a: string; b: string }>(
      CompiledQuery.raw(`select ${p(1)} as a, ${p(2)} as b`, ['x', 'y']),
    );
    expect(rows).toEqual([{ a: 'x', b: 'y' }]);
  });
});
