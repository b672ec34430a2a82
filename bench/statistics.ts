// `npx tsx bench/statistics.ts`: drift (50 columns, 1M reference rows against 1M current rows)
// and fairness (10M predictions, 2 sensitive columns) in DuckDB, each beside raw DuckDB in the
// same run. Two anchors for drift: "replay" runs the very statements our code issued, straight
// on the connection (our overhead: planning, binding, reading, finishing in JS); "naive" is the
// plain SQL one would write for the same exact statistics (a window over the sorted union per
// numeric column, a GROUP BY per categorical column). FALAJ_BENCH_DRIFT_ROWS and
// FALAJ_BENCH_FAIRNESS_ROWS shrink a quick run.
import { type DuckDBConnection, DuckDBInstance, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { computeDriftDuckDB } from '../src/statistics/drift-duckdb.js';
import { computeFairnessDuckDB } from '../src/statistics/fairness-duckdb.js';

const driftRows = Number(process.env.FALAJ_BENCH_DRIFT_ROWS ?? 1_000_000);
const fairnessRows = Number(process.env.FALAJ_BENCH_FAIRNESS_ROWS ?? 10_000_000);

const NORMAL = 'sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';

/** 50 columns: 15 continuous, 10 rounded to cents, 5 small integer counts, 20 categorical; every 5th shifted in `current`. */
function columnsSql(shifted: boolean): { sql: string; kinds: string[] } {
  const parts: string[] = [];
  const kinds: string[] = [];
  for (let i = 0; i < 50; i++) {
    const shift = shifted && i % 5 === 0 ? 1 : 0;
    if (i < 15) {
      parts.push(`${NORMAL} * 10 + ${50 + shift * 3} AS f${i}`);
      kinds.push('continuous');
    } else if (i < 25) {
      parts.push(`round(${NORMAL} * 20 + ${100 + shift * 5}, 2) AS f${i}`);
      kinds.push('cents');
    } else if (i < 30) {
      parts.push(`CAST(floor(random() * ${3 + i - 25 + shift}) AS INTEGER) AS f${i}`);
      kinds.push('count');
    } else {
      const k = 3 + (i - 30) * 2;
      parts.push(`'c' || CAST(floor(pow(random(), ${1 + shift}) * ${k}) AS INTEGER) AS f${i}`);
      kinds.push('categorical');
    }
  }
  return { sql: parts.join(', '), kinds };
}

interface Recorded {
  sql: string;
  values?: Record<string, DuckDBValue>;
  types?: Record<string, DuckDBType>;
}

/** A connection that records every statement it runs, so the anchor can replay them as they were. */
function recording(conn: DuckDBConnection, log: Recorded[]): DuckDBConnection {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'runAndReadAll') {
        return (sql: string, values?: Record<string, DuckDBValue>, types?: Record<string, DuckDBType>) => {
          log.push({ sql, values, types });
          return target.runAndReadAll(sql, values, types);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function best(fn: () => Promise<unknown>, runs = 3): Promise<number> {
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) b = Math.min(b, await seconds(fn));
  return b;
}

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run('SELECT setseed(0.42)');
const ref = columnsSql(false);
const cur = columnsSql(true);
console.log(`generating ${driftRows} + ${driftRows} rows × 50 columns and ${fairnessRows} predictions…`);
await conn.run(`CREATE TABLE ref AS SELECT ${ref.sql} FROM range(${driftRows})`);
await conn.run(`CREATE TABLE cur AS SELECT ${cur.sql} FROM range(${driftRows})`);
await conn.run(`CREATE TABLE preds AS SELECT
  CASE WHEN random() < 0.4 THEN 1 ELSE 0 END AS label,
  CASE WHEN random() < 0.35 + 0.1 * (range % 5 = 0)::INTEGER THEN 1 ELSE 0 END AS prediction,
  'g' || (range % 5) AS region,
  CASE WHEN range % 1000 = 0 THEN 'rare' WHEN range % 2 = 0 THEN 'f' ELSE 'm' END AS sex
FROM range(${fairnessRows})`);

// Drift.
const log: Recorded[] = [];
let report = await computeDriftDuckDB(recording(conn, log), { table: 'ref' }, { table: 'cur' });
const ours = await best(async () => {
  report = await computeDriftDuckDB(conn, { table: 'ref' }, { table: 'cur' });
});
const replay = await best(async () => {
  for (const r of log) (await conn.runAndReadAll(r.sql, r.values, r.types)).getRowsJS();
});
const numericCols = ref.kinds.map((k, i) => (k === 'categorical' ? -1 : i)).filter((i) => i >= 0);
const naive = await seconds(async () => {
  for (const i of numericCols) {
    const c = `f${i}`;
    await conn.runAndReadAll(`SELECT max(abs(cr * m - (rn - cr) * n)), sum(coalesce(nv - x, 0) * abs(cr * m - (rn - cr) * n)), any_value(sd)
FROM (SELECT x, sum(1 - s) OVER w AS cr, row_number() OVER w AS rn, lead(x) OVER w AS nv,
  ${driftRows} AS n, ${driftRows} AS m, (SELECT stddev_pop(${c}) FROM ref) AS sd
  FROM (SELECT ${c} AS x, 0 AS s FROM ref UNION ALL SELECT ${c}, 1 FROM cur)
  WINDOW w AS (ORDER BY x ROWS UNBOUNDED PRECEDING))`);
  }
  for (const [i, k] of ref.kinds.entries()) {
    if (k !== 'categorical') continue;
    await conn.runAndReadAll(`SELECT x, count_if(s = 0), count_if(s = 1) FROM
  (SELECT f${i} AS x, 0 AS s FROM ref UNION ALL SELECT f${i}, 1 FROM cur) GROUP BY x`);
  }
});
console.log(
  `\ndrift, 50 columns, ${driftRows} vs ${driftRows} rows (${report.numberOfDriftedColumns} drifted, dataset drift ${report.datasetDrift}):`,
);
console.log(`  ours           ${ours.toFixed(3)} s   (goal < 3 s)`);
console.log(`  replay (raw)   ${replay.toFixed(3)} s   ratio ${(ours / replay).toFixed(2)}   (goal ≤ 1.3)`);
console.log(`  naive raw SQL  ${naive.toFixed(3)} s   ratio ${(ours / naive).toFixed(2)}`);
console.log(`  statements     ${log.length}`);

// Fairness.
const columns = { label: 'label', prediction: 'prediction', sensitive: ['region', 'sex'] };
const fairLog: Recorded[] = [];
let fair = await computeFairnessDuckDB(recording(conn, fairLog), { table: 'preds' }, columns);
const fairOurs = await best(async () => {
  fair = await computeFairnessDuckDB(conn, { table: 'preds' }, columns);
});
const fairRaw = await best(async () => {
  (
    await conn.runAndReadAll(`SELECT region, sex, count(*),
  count_if(label = 1 AND prediction = 1), count_if(label = 0 AND prediction = 1),
  count_if(label = 0 AND prediction = 0), count_if(label = 1 AND prediction = 0)
FROM preds GROUP BY region, sex`)
  ).getRowsJS();
});
console.log(
  `\nfairness, ${fairnessRows} predictions, 2 sensitive columns (${fair.groups.length} groups, DP difference ${fair.fairlearn.demographicParityDifference.toFixed(4)}):`,
);
console.log(`  ours           ${fairOurs.toFixed(3)} s   (goal < 2 s)`);
console.log(
  `  raw GROUP BY   ${fairRaw.toFixed(3)} s   ratio ${(fairOurs / fairRaw).toFixed(2)}   (goal ≤ 1.3)`,
);
conn.closeSync();
