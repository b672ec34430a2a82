// `npx tsx bench/data.ts [--rows N]`: generates an N-row (default 10M), 20-column CSV, then
// times Falaj's ingest (CSV → zstd Parquet), profile and a 20-expectation suite, each beside
// raw DuckDB doing the same work in the same run: COPY read_csv → Parquet with DuckDB's own
// sniffing; SUMMARIZE (counts, distinct, min/max, mean, std, quartiles); and the suite's
// checks written by hand as one aggregate plus the uniqueness GROUP BY.
import { rmSync, statSync } from 'node:fs';
import { ingestFile } from '../src/data/ingest.js';
import { computeProfile } from '../src/data/profile.js';
import type { Suite } from '../src/data/types.js';
import { runSuite } from '../src/data/validate.js';
import { DuckWorkspace, literal } from '../src/data/workspace.js';

const arg = process.argv.indexOf('--rows');
const rows = arg > 0 ? Number(process.argv[arg + 1]) : 10_000_000;

function columnsSql(): string {
  const parts = ['i AS id'];
  for (let k = 0; k < 10; k++) parts.push(`round(random() * ${100 * (k + 1)}, 3) AS x${k}`);
  for (let k = 0; k < 4; k++) parts.push(`CAST(floor(random() * ${10 ** (k + 1)}) AS INTEGER) AS n${k}`);
  for (let k = 0; k < 4; k++) parts.push(`'c' || CAST(floor(random() * ${3 + 5 * k}) AS INTEGER) AS s${k}`);
  parts.push(`DATE '2020-01-01' + CAST(i % 1500 AS INTEGER) AS day`);
  return parts.join(', ');
}

const SUITE: Suite = {
  name: 'bench',
  expectations: [
    { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } },
    { expectation_type: 'expect_column_values_to_be_unique', kwargs: { column: 'id' } },
    ...Array.from({ length: 6 }, (_, k) => ({
      expectation_type: 'expect_column_values_to_be_between',
      kwargs: { column: `x${k}`, min_value: 0, max_value: 100 * (k + 1) },
    })),
    ...Array.from({ length: 4 }, (_, k) => ({
      expectation_type: 'expect_column_values_to_not_be_null',
      kwargs: { column: `n${k}` },
    })),
    ...Array.from({ length: 4 }, (_, k) => ({
      expectation_type: 'expect_column_values_to_be_in_set',
      kwargs: { column: `s${k}`, value_set: Array.from({ length: 3 + 5 * k }, (_, j) => `c${j}`) },
    })),
    { expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 's0', regex: '^c[0-9]+$' } },
    {
      expectation_type: 'expect_column_pair_values_a_to_be_greater_than_b',
      kwargs: { column_A: 'x9', column_B: 'x0', or_equal: true, mostly: 0.5 },
    },
    { expectation_type: 'expect_column_values_to_be_of_type', kwargs: { column: 'day', type_: 'DATE' } },
    { expectation_type: 'expect_column_to_exist', kwargs: { column: 'x7' } },
  ],
};

function rawSuiteSql(p: string): string[] {
  const from = `read_parquet(${literal(p)})`;
  const parts = ['count(*)'];
  for (let k = 0; k < 6; k++)
    parts.push(
      `count_if(x${k} IS NULL)`,
      `count_if(x${k} IS NOT NULL AND NOT (x${k} >= 0 AND x${k} <= ${100 * (k + 1)}))`,
    );
  for (let k = 0; k < 4; k++) parts.push(`count_if(n${k} IS NULL)`);
  for (let k = 0; k < 4; k++)
    parts.push(
      `count_if(s${k} IS NOT NULL AND s${k} NOT IN (${Array.from({ length: 3 + 5 * k }, (_, j) => `'c${j}'`).join(', ')}))`,
    );
  parts.push(
    `count_if(s0 IS NOT NULL AND NOT regexp_matches(s0, '^c[0-9]+$'))`,
    'count_if(x9 IS NOT NULL AND x0 IS NOT NULL AND NOT (x9 >= x0))',
  );
  return [
    `SELECT ${parts.join(', ')} FROM ${from}`,
    `SELECT count(id), (SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM ${from} WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1)) FROM ${from}`,
  ];
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [(performance.now() - t0) / 1000, out];
}

const ws = await DuckWorkspace.open();
try {
  const csv = ws.file('bench.csv');
  const [genS] = await time(() =>
    ws.conn.run(
      `COPY (SELECT ${columnsSql()} FROM range(${rows}) t(i)) TO ${literal(csv)} (FORMAT csv, HEADER)`,
    ),
  );
  const mb = statSync(csv).size / 1e6;
  console.log(
    `data bench: ${rows.toLocaleString('en')} rows × 20 columns, CSV ${mb.toFixed(0)} MB (generated in ${genS.toFixed(1)} s)`,
  );

  const rawParquet = ws.file('raw.parquet');
  const [rawIngest] = await time(() =>
    ws.conn.run(
      `COPY (SELECT * FROM read_csv(${literal(csv)})) TO ${literal(rawParquet)} (FORMAT parquet, COMPRESSION zstd)`,
    ),
  );
  const ours = ws.file('ours.parquet');
  const [ingestS, ingest] = await time(() => ingestFile(ws, csv, 'bench.csv', 'csv', ours));

  const [rawProfile] = await time(() => ws.rows(`SUMMARIZE SELECT * FROM read_parquet(${literal(ours)})`));
  const [profileS] = await time(() => computeProfile(ws, 'read_parquet($1)', [ours], ingest.schema));

  const [rawSuite] = await time(async () => {
    for (const q of rawSuiteSql(ours)) await ws.rows(q);
  });
  const [suiteS, result] = await time(() => runSuite(ws, ours, ingest.schema, SUITE));
  rmSync(rawParquet, { force: true });

  const line = (what: string, s: number, raw: number, goal: string) =>
    console.log(
      `${what.padEnd(26)} ours ${s.toFixed(2).padStart(7)} s   raw DuckDB ${raw.toFixed(2).padStart(7)} s   ratio ${(s / raw).toFixed(2)}× (goal ≤ 1.3×)   ${goal}`,
    );
  line(
    `ingest (${(mb / ingestS).toFixed(0)} MB/s)`,
    ingestS,
    rawIngest,
    `goal ≥ 100 MB/s (raw ${(mb / rawIngest).toFixed(0)} MB/s)`,
  );
  line('profile', profileS, rawProfile, 'goal < 10 s at 10M rows');
  line(
    `suite (${SUITE.expectations.length} expectations)`,
    suiteS,
    rawSuite,
    `goal < 5 s at 10M rows; success=${result.success}`,
  );
} finally {
  await ws.close();
}
