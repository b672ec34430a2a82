// Run search over 100,000 runs with 20 metrics and 20 params each (issue 3's goal: p95 < 100 ms
// on both dialects): `metrics.auc > 0.9 and params.depth = '6'` ordered by `metrics.auc DESC`,
// first page of 100, timed 20 times after a warm-up. A probe, not an assertion.
//
//   npx tsx bench/search.ts                       (SQLite, and PostgreSQL when it answers)
//   FALAJ_BENCH_SEARCH_RUNS=20000 npx tsx bench/search.ts
//   FALAJ_BENCH_PG_URL=postgres://user@host/db npx tsx bench/search.ts
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { openStore, type Store } from '../src/store/store.js';
import { searchRunIds } from '../src/tracking/search/index.js';
import { createPgSchema } from '../test/support/pg-schema.js';
import { prng } from '../test/support/prng.js';

const FILTER = "metrics.auc > 0.9 and params.depth = '6'";
const ORDER = ['metrics.auc DESC'];
const PROJECT = 'bench-project';
const EXPERIMENT = 'bench-experiment';

export interface SearchFigures {
  dialect: 'sqlite' | 'postgres';
  runs: number;
  loadSeconds: number;
  matches: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** Multi-row inserts, each within the dialect's bound-parameter limit (SQLite: 32766). */
export async function loadBenchRuns(store: Store, runs: number): Promise<void> {
  const db = store.db;
  const maxParams = store.dialect.name === 'sqlite' ? 32_000 : 60_000;
  const now = Date.UTC(2025, 0, 1);
  await db
    .insertInto('projects')
    .values({ id: PROJECT, name: PROJECT, description: '', created_at: now, created_by: 'bench' })
    .execute();
  await db
    .insertInto('experiments')
    .values({
      id: EXPERIMENT,
      project_id: PROJECT,
      name: EXPERIMENT,
      artifact_location: 'mem://',
      lifecycle_stage: 'active',
      creation_time: now,
      last_update_time: now,
    })
    .execute();
  const rnd = prng(1);
  const RUN_BATCH = Math.floor(maxParams / 12);
  const KV_BATCH = Math.floor(maxParams / 6);
  for (let start = 0; start < runs; start += RUN_BATCH) {
    const n = Math.min(RUN_BATCH, runs - start);
    const ids = Array.from({ length: n }, (_, k) => `run-${String(start + k).padStart(7, '0')}`);
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('runs')
        .values(
          ids.map((id, k) => ({
            id,
            experiment_id: EXPERIMENT,
            project_id: PROJECT,
            name: id,
            user_id: 'bench',
            status: 'FINISHED',
            start_time: now + start + k,
            end_time: now + start + k + 1000,
            lifecycle_stage: 'active',
            artifact_uri: `mem://${id}`,
            parent_run_id: null,
            deleted_time: null,
          })),
        )
        .execute();
      // Each run's values in one pass, so both dialects get the same data whatever the batch size.
      const metrics: {
        run_id: string;
        key: string;
        step: number;
        timestamp: number;
        value: number;
        is_nan: number;
      }[] = [];
      const params: { run_id: string; key: string; value: string }[] = [];
      for (const id of ids) {
        for (let m = 0; m < 20; m++)
          metrics.push({
            run_id: id,
            key: m === 0 ? 'auc' : `m${m}`,
            step: 10,
            timestamp: now,
            value: rnd(),
            is_nan: 0,
          });
        for (let p = 0; p < 20; p++)
          params.push({
            run_id: id,
            key: p === 0 ? 'depth' : `p${p}`,
            value: p === 0 ? String(1 + Math.floor(rnd() * 10)) : `v${Math.floor(rnd() * 100)}`,
          });
      }
      if (store.dialect.name === 'postgres') {
        // One statement per table through arrays: far quicker than 60,000 bound parameters.
        const col = <T>(rows: T[], f: (r: T) => unknown) => rows.map(f);
        await sql`insert into latest_metrics (run_id, key, step, timestamp, value, is_nan)
          select * from unnest(${col(metrics, (r) => r.run_id)}::text[], ${col(metrics, (r) => r.key)}::text[],
            ${col(metrics, (r) => r.step)}::bigint[], ${col(metrics, (r) => r.timestamp)}::bigint[],
            ${col(metrics, (r) => r.value)}::double precision[], ${col(metrics, (r) => r.is_nan)}::integer[])`.execute(
          tx,
        );
        await sql`insert into params (run_id, key, value)
          select * from unnest(${col(params, (r) => r.run_id)}::text[], ${col(params, (r) => r.key)}::text[],
            ${col(params, (r) => r.value)}::text[])`.execute(tx);
        return;
      }
      for (let i = 0; i < metrics.length; i += KV_BATCH)
        await tx
          .insertInto('latest_metrics')
          .values(metrics.slice(i, i + KV_BATCH))
          .execute();
      for (let i = 0; i < params.length; i += KV_BATCH)
        await tx
          .insertInto('params')
          .values(params.slice(i, i + KV_BATCH))
          .execute();
    });
  }
}

async function time(store: Store, rounds: number): Promise<{ times: number[]; matches: number }> {
  const q = {
    projectId: PROJECT,
    experimentIds: [EXPERIMENT],
    filter: FILTER,
    orderBy: ORDER,
    maxResults: 100,
    viewType: 'ACTIVE_ONLY' as const,
  };
  for (let i = 0; i < 3; i++) await searchRunIds(store.db, store.dialect, q);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await searchRunIds(store.db, store.dialect, q);
    times.push(performance.now() - t0);
  }
  const matches = await sql<{ n: number | string }>`select count(*) as n from runs r
    join latest_metrics m on m.run_id = r.id and m.key = 'auc' and m.value > 0.9
    join params p on p.run_id = r.id and p.key = 'depth' and p.value = '6'`.execute(store.db);
  return { times, matches: Number(matches.rows[0]!.n) };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function benchOne(
  dialect: 'sqlite' | 'postgres',
  runs: number,
  databaseUrl: string | undefined,
): Promise<SearchFigures> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-search-'));
  const store = await openStore({ dataDir, databaseUrl });
  try {
    const t0 = performance.now();
    await loadBenchRuns(store, runs);
    const loadSeconds = (performance.now() - t0) / 1000;
    // PostgreSQL: what autovacuum does to freshly loaded tables (statistics, and the visibility
    // map that index-only scans need). SQLite runs without statistics: the query does not need them.
    if (dialect === 'postgres') await sql`vacuum analyze`.execute(store.db);
    const { times, matches } = await time(store, 20);
    const sorted = [...times].sort((a, b) => a - b);
    return {
      dialect,
      runs,
      loadSeconds: Math.round(loadSeconds * 10) / 10,
      matches,
      p50Ms: Math.round(pct(sorted, 0.5) * 10) / 10,
      p95Ms: Math.round(pct(sorted, 0.95) * 10) / 10,
      maxMs: Math.round(sorted[sorted.length - 1]! * 10) / 10,
    };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A fresh schema on the PostgreSQL server, dropped afterwards; undefined when none answers. */
async function postgresSchema(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const base = process.env.FALAJ_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = new pg.Client({ connectionString: base, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  await admin.end();
  return createPgSchema(base, 'bench_search');
}

export async function benchSearch(opts: { runs?: number } = {}): Promise<SearchFigures[]> {
  const runs = opts.runs ?? Number(process.env.FALAJ_BENCH_SEARCH_RUNS ?? 100_000);
  const results: SearchFigures[] = [];
  const report = (r: SearchFigures) =>
    console.log(
      `search ${r.dialect}: ${r.runs} runs (loaded in ${r.loadSeconds} s), ${r.matches} matches, ` +
        `p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, max ${r.maxMs} ms (goal p95 < 100 ms)`,
    );
  const lite = await benchOne('sqlite', runs, undefined);
  report(lite);
  results.push(lite);
  const schema = await postgresSchema();
  if (schema) {
    try {
      const r = await benchOne('postgres', runs, schema.url);
      report(r);
      results.push(r);
    } finally {
      await schema.drop();
    }
  } else {
    console.log('search postgres: skipped (no PostgreSQL answered; set FALAJ_BENCH_PG_URL)');
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchSearch();
