import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { metricHistory, pagePoints } from '../../src/tracking/metric-store.js';
import { createSandbox, DIALECTS, type Sandbox } from '../support/dialects.js';

// Migration 0003 moves per-point history rows into chunks. The store is put back in the state
// 0002 left (a `metrics` table with points, 0003 not applied), then reopened.
describe.each(DIALECTS)('migration 0003-metric-chunks on %s', (dialect) => {
  const open: Store[] = [];
  const sandboxes: Sandbox[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const s of sandboxes.splice(0)) await s.dispose();
  });

  it('moves every point, NaN and infinities included, in (step, timestamp) order', async () => {
    const sb = await createSandbox(dialect);
    sandboxes.push(sb);
    const first = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    const db = first.db;
    await db
      .insertInto('projects')
      .values({ id: 'p', name: 'p', description: '', created_at: 1, created_by: 'u' })
      .execute();
    await db
      .insertInto('experiments')
      .values({
        id: 'e',
        project_id: 'p',
        name: 'e',
        artifact_location: 'x',
        lifecycle_stage: 'active',
        creation_time: 1,
        last_update_time: 1,
      })
      .execute();
    for (const id of ['r1', 'r2'])
      await db
        .insertInto('runs')
        .values({
          id,
          experiment_id: 'e',
          project_id: 'p',
          name: id,
          user_id: 'u',
          status: 'RUNNING',
          start_time: 1,
          end_time: null,
          lifecycle_stage: 'active',
          artifact_uri: 'x',
          parent_run_id: null,
          deleted_time: null,
        })
        .execute();
    const real = dialect === 'postgres' ? 'double precision' : 'real';
    const time = dialect === 'postgres' ? 'bigint' : 'integer';
    await sql`drop table "metric_chunks"`.execute(db);
    await sql`delete from "falaj_migrations" where "name" = '0003-metric-chunks'`.execute(db);
    await sql
      .raw(`create table "metrics" ("run_id" text not null references "runs" ("id") on delete cascade,
      "key" text not null, "step" ${time} not null, "timestamp" ${time} not null, "value" ${real},
      "is_nan" integer default 0 not null)`)
      .execute(db);
    // 2500 points of r1/loss inserted out of order, plus special values on r2.
    const loss = Array.from({ length: 2500 }, (_, i) => 2499 - i);
    for (let at = 0; at < loss.length; at += 500) {
      const part = loss.slice(at, at + 500);
      await sql`insert into "metrics" ("run_id", "key", "step", "timestamp", "value", "is_nan") values ${sql.join(
        part.map((step) => sql`(${'r1'}, ${'loss'}, ${step}, ${1000 + step}, ${step / 10}, ${0})`),
      )}`.execute(db);
    }
    await sql`insert into "metrics" ("run_id", "key", "step", "timestamp", "value", "is_nan") values
      ('r2', 'odd', 3, 30, null, 1), ('r2', 'odd', 1, 10, ${Number.POSITIVE_INFINITY}, 0),
      ('r2', 'odd', 2, 20, ${Number.NEGATIVE_INFINITY}, 0)`.execute(db);
    await first.close();

    const second = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    open.push(second);
    const chunks = await second.db
      .selectFrom('metric_chunks')
      .select(['run_id', 'key', 'n'])
      .orderBy('id')
      .execute();
    expect(chunks.map((c) => [c.run_id, c.key, c.n])).toEqual([
      ['r1', 'loss', 1000],
      ['r1', 'loss', 1000],
      ['r1', 'loss', 500],
      ['r2', 'odd', 3],
    ]);
    const h = { metrics: pagePoints(await metricHistory(second.db, 'r1', 'loss', 100_000, undefined)) };
    expect(h.metrics.map((m) => m.step)).toEqual(loss.slice().reverse());
    expect(h.metrics[7]).toEqual({ key: 'loss', step: 7, timestamp: 1007, value: 0.7 });
    const odd = { metrics: pagePoints(await metricHistory(second.db, 'r2', 'odd', 10, undefined)) };
    expect(odd.metrics.map((m) => m.value)).toEqual([
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ]);
    const tables = await sql<{ n: number }>`select count(*) as n from ${sql.raw(
      dialect === 'postgres' ? 'information_schema.tables' : 'sqlite_master',
    )} where ${sql.raw(dialect === 'postgres' ? "table_schema = current_schema() and table_name = 'metrics'" : "type = 'table' and name = 'metrics'")}`.execute(
      second.db,
    );
    expect(Number(tables.rows[0]!.n)).toBe(0);
  });
});
