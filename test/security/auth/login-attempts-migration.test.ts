import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/store/store.js';
import { createSandbox, DIALECTS, type Sandbox } from '../../support/dialects.js';

// Migration 0012 rebuilds login_attempts with a source column. The store is put back in the
// state 0011 left (the old table, with counts in it, 0012 not applied), then reopened.
describe.each(DIALECTS)('migration 0012-login-attempts-by-source on %s', (dialect) => {
  const open: Store[] = [];
  const sandboxes: Sandbox[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const s of sandboxes.splice(0)) await s.dispose();
  });

  it("keeps each username's count as its every-address row, without the old lock", async () => {
    const sb = await createSandbox(dialect);
    sandboxes.push(sb);
    const first = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    open.push(first);
    const time = sql.raw(dialect === 'postgres' ? 'bigint' : 'integer');
    await sql`drop table login_attempts`.execute(first.db);
    await sql`create table login_attempts (username text primary key, failures integer not null,
      last_failure_at ${time} not null, locked_until ${time})`.execute(first.db);
    await sql`insert into login_attempts values ('alice', 3, 1000, null), ('bob', 10, 2000, 902000)`.execute(
      first.db,
    );
    await sql`delete from falaj_migrations where name = '0012-login-attempts-by-source'`.execute(first.db);
    await first.close();
    open.pop();

    const again = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    open.push(again);
    const rows = await again.db.selectFrom('login_attempts').selectAll().orderBy('username').execute();
    expect(rows).toEqual([
      {
        username: 'alice',
        source: '*',
        failures: 3,
        last_failure_at: 1000,
        locked_until: null,
        reserved_by: null,
        reserved_until: null,
      },
      {
        username: 'bob',
        source: '*',
        failures: 10,
        last_failure_at: 2000,
        locked_until: null,
        reserved_by: null,
        reserved_until: null,
      },
    ]);
  });
});
