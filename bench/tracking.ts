// Experiment tracking: metric ingest through MLflow's `runs/log-batch` over HTTP (1000 metrics
// per request, 4 concurrent keep-alive clients, each to its own run), on each dialect, against a
// raw better-sqlite3 batched insert of the same rows into a table shaped like `metrics` (same
// columns, foreign key and index; transactions of 1000 rows) in the same run. Also the server's
// RSS (before, peak during ingest), and metric history read-back through `metrics/get-history`:
// one key of one run after the ingest, and a separate key of 1,000,000 steps logged through the
// API. Goals (issue 3): ≥ 300,000 points/s on SQLite, ≥ 100,000 on PostgreSQL, falaj/raw ≥ 0.25,
// RSS < 300 MB, history ≥ 1,000,000 points/s.
//
//   npx tsx bench/tracking.ts
//   FALAJ_BENCH_POINTS=400000 FALAJ_BENCH_DIALECTS=sqlite npx tsx bench/tracking.ts
//   FALAJ_BENCH_HISTORY_POINTS=1000000 (the separate history scenario; 0 skips it)
//   FALAJ_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test
//   FALAJ_BENCH_SERVER_NODE_OPTIONS: NODE_OPTIONS of the server process (Node refuses --cpu-prof
//   there; an --import of a preload that starts node:inspector's profiler works)
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createPgSchema } from '../test/support/pg-schema.js';
import { type BenchServer, rssMb, startBenchServer, table } from './support.js';

export type BenchDialect = 'sqlite' | 'postgres';

const PG_BASE_URL = process.env.FALAJ_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = 4;
const PER_REQUEST = 1000;
const KEYS = [
  'train/loss',
  'train/accuracy',
  'val/loss',
  'val/accuracy',
  'learning_rate',
  'grad_norm',
  'train/f1',
  'val/auc',
  'samples_per_second',
  'epoch',
] as const;
const STEPS_PER_REQUEST = PER_REQUEST / KEYS.length; // 100
const T0 = 1_700_000_000_000;
/** The server's largest get-history page (LIMITS.historyMax). */
const HISTORY_MAX = 100_000;
/** The page the MLflow Python client asks for (LIMITS.historyDefault). */
const HISTORY_CLIENT_PAGE = 25_000;

/** A plausible value of a training metric at a step (noisy, decaying, bounded). */
function metricValue(keyIndex: number, step: number, seed: number): number {
  const noise = Math.sin(step * 12.9898 + keyIndex * 78.233 + seed) * 0.01;
  const decay = Math.exp(-step / 20_000);
  switch (keyIndex) {
    case 0:
      return 2.3 * decay + 0.05 + noise;
    case 1:
      return 0.98 - 0.88 * decay + noise;
    case 2:
      return 2.4 * decay + 0.08 + noise;
    case 3:
      return 0.96 - 0.86 * decay + noise;
    case 4:
      return 3e-4 * (0.5 + 0.5 * Math.cos((Math.PI * (step % 100_000)) / 100_000));
    case 5:
      return 1.2 + 5 * decay + noise * 50;
    case 6:
      return 0.95 - 0.8 * decay + noise;
    case 7:
      return 0.99 - 0.49 * decay + noise;
    case 8:
      return 1800 + noise * 10_000;
    default:
      return Math.floor(step / 1000);
  }
}

interface Row {
  key: string;
  step: number;
  timestamp: number;
  value: number;
}

/** The metrics of request `r` of a run: 10 keys × 100 consecutive steps. */
function requestRows(r: number, seed: number): Row[] {
  const rows: Row[] = new Array(PER_REQUEST);
  let i = 0;
  for (let s = 0; s < STEPS_PER_REQUEST; s++) {
    const step = r * STEPS_PER_REQUEST + s;
    for (let k = 0; k < KEYS.length; k++) {
      rows[i++] = { key: KEYS[k]!, step, timestamp: T0 + step * 25, value: metricValue(k, step, seed) };
    }
  }
  return rows;
}

function batchBody(runId: string, rows: readonly Row[]): string {
  const parts: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i]!;
    parts[i] = `{"key":"${m.key}","value":${m.value},"timestamp":${m.timestamp},"step":${m.step}}`;
  }
  return `{"run_id":"${runId}","metrics":[${parts.join(',')}]}`;
}

// ---------------------------------------------------------------------------------------------
// The anchor: raw better-sqlite3.

/** The DDL of migration 0002 as Kysely emits it for SQLite (the runs table reduced to its key). */
const ANCHOR_DDL = [
  'create table "runs" ("id" text primary key)',
  'create table "metrics" ("run_id" text not null references "runs" ("id") on delete cascade, "key" text not null, "step" integer not null, "timestamp" integer not null, "value" real, "is_nan" integer default 0 not null)',
  'create index "metrics_run_key_step" on "metrics" ("run_id", "key", "step", "timestamp")',
];

/**
 * Inserts the same rows the HTTP clients send (4 runs, `points` in all, interleaved as the
 * clients' requests are) with the server's pragmas, in transactions of 1000 rows; the faster of
 * a one-row prepared statement run 1000 times and one 1000-row statement. Returns rows/s.
 */
function rawSqliteInsert(points: number): { rowsPerSecond: number; variant: string } {
  const requests = Math.ceil(points / PER_REQUEST);
  const runIds = Array.from({ length: CLIENTS }, (_, c) => `anchor-run-${c}`.padEnd(32, '0'));
  // Rows built up front, so that both variants time the database alone.
  const batches: { runId: string; rows: Row[] }[] = [];
  for (let r = 0; batches.length < requests; r++)
    for (let c = 0; c < CLIENTS && batches.length < requests; c++)
      batches.push({ runId: runIds[c]!, rows: requestRows(r, c) });
  const variants: [string, (db: Database.Database) => (runId: string, rows: Row[]) => void][] = [
    [
      'one-row statement ×1000 per transaction',
      (db) => {
        const stmt = db.prepare(
          'insert into "metrics" ("run_id", "key", "step", "timestamp", "value", "is_nan") values (?, ?, ?, ?, ?, ?)',
        );
        return db.transaction((runId: string, rows: Row[]) => {
          for (const m of rows) stmt.run(runId, m.key, m.step, m.timestamp, m.value, 0);
        });
      },
    ],
    [
      'one 1000-row statement per transaction',
      (db) => {
        const stmt = db.prepare(
          `insert into "metrics" ("run_id", "key", "step", "timestamp", "value", "is_nan") values ${Array(
            PER_REQUEST,
          )
            .fill('(?, ?, ?, ?, ?, ?)')
            .join(', ')}`,
        );
        const params: unknown[] = new Array(PER_REQUEST * 6);
        return db.transaction((runId: string, rows: Row[]) => {
          if (rows.length !== PER_REQUEST) throw new Error('anchor batches are full');
          for (let i = 0; i < rows.length; i++) {
            const m = rows[i]!;
            const b = i * 6;
            params[b] = runId;
            params[b + 1] = m.key;
            params[b + 2] = m.step;
            params[b + 3] = m.timestamp;
            params[b + 4] = m.value;
            params[b + 5] = 0;
          }
          stmt.run(params);
        });
      },
    ],
  ];
  let best = { rowsPerSecond: 0, variant: '' };
  for (const [variant, make] of variants) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-raw-'));
    const db = new Database(path.join(dir, 'raw.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      for (const ddl of ANCHOR_DDL) db.exec(ddl);
      const addRun = db.prepare('insert into "runs" ("id") values (?)');
      for (const id of runIds) addRun.run(id);
      const insert = make(db);
      const t = performance.now();
      for (const b of batches) insert(b.runId, b.rows);
      const s = (performance.now() - t) / 1000;
      const n = (db.prepare('select count(*) as n from "metrics"').get() as { n: number }).n;
      if (n !== requests * PER_REQUEST) throw new Error(`anchor inserted ${n} rows`);
      const rate = n / s;
      if (rate > best.rowsPerSecond) best = { rowsPerSecond: rate, variant };
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// The subject: a real server process.

interface Target {
  server: BenchServer;
  /** Project-scoped editor API token (the MLflow API takes its project from it). */
  token: string;
  dispose(): Promise<void>;
}

async function startTarget(dialect: BenchDialect): Promise<Target> {
  const env: Record<string, string> = {};
  if (process.env.FALAJ_BENCH_SERVER_NODE_OPTIONS)
    env.NODE_OPTIONS = process.env.FALAJ_BENCH_SERVER_NODE_OPTIONS;
  const schema = dialect === 'postgres' ? await createPgSchema(PG_BASE_URL, 'bench') : undefined;
  if (schema) env.FALAJ_DATABASE_URL = schema.url;
  const dropSchema = async () => schema?.drop();
  let server: BenchServer;
  try {
    server = await startBenchServer(env);
  } catch (err) {
    await dropSchema();
    throw err;
  }
  try {
    const json = async (method: string, url: string, bearer: string, body: unknown, expect: number) => {
      const res = await fetch(`${server.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== expect) throw new Error(`${method} ${url}: ${res.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    await json('POST', '/api/v1/projects', server.token, { name: 'bench-tracking' }, 201);
    const created = await json(
      'POST',
      '/api/v1/projects/bench-tracking/tokens',
      server.token,
      { name: 'bench-ingest', role: 'editor' },
      201,
    );
    return {
      server,
      token: created.token as string,
      async dispose() {
        await server.stop();
        await dropSchema();
      },
    };
  } catch (err) {
    await server.stop();
    await dropSchema();
    throw err;
  }
}

async function mlflow(target: Target, method: 'GET' | 'POST', route: string, body?: unknown) {
  const res = await fetch(`${target.server.url}/api/2.0/mlflow/${route}`, {
    method,
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function createExperimentAndRuns(target: Target, name: string, runs: number) {
  const e = await mlflow(target, 'POST', 'experiments/create', { name });
  const experimentId = e.experiment_id as string;
  const runIds: string[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await mlflow(target, 'POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: `${name}-${i}`,
      start_time: T0,
    });
    runIds.push((r.run as { info: { run_id: string } }).info.run_id);
  }
  return { experimentId, runIds };
}

/** POSTs one body over the agent's socket; rejects on anything but 200. */
function post(target: Target, agent: http.Agent, route: string, body: string): Promise<void> {
  const url = new URL(`${target.server.url}/api/2.0/mlflow/${route}`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${target.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        if (res.statusCode === 200) {
          res.resume();
          res.on('end', resolve);
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => reject(new Error(`${route}: ${res.statusCode} ${text.slice(0, 500)}`)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** GET returning the raw body (status 200 expected). */
async function getText(target: Target, agent: http.Agent, pathAndQuery: string): Promise<string> {
  return (await getRaw(target, agent, pathAndQuery)).body.toString('utf8');
}

/** GET returning the body bytes and headers (status 200 expected). */
function getRaw(
  target: Target,
  agent: http.Agent,
  pathAndQuery: string,
): Promise<{ body: Buffer; headers: http.IncomingHttpHeaders }> {
  const url = new URL(`${target.server.url}${pathAndQuery}`);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        agent,
        headers: { authorization: `Bearer ${target.token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200) reject(new Error(`GET ${url.pathname}: ${res.statusCode} ${body}`));
          else resolve({ body, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
  });
}

/** Samples the process's RSS every 200 ms until stopped; returns the peak seen. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    const now = rssMb(pid);
    if (now > peak) peak = now;
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      const now = rssMb(pid);
      return Math.max(now, peak);
    },
  };
}

/**
 * Pages one key's history out with get-history (following next_page_token), parsing each page
 * as a client would; checks the count and order. Returns points/s and pages.
 */
async function readHistory(
  target: Target,
  runId: string,
  key: string,
  pageSize: number,
  expected: number,
): Promise<{ pointsPerSecond: number; pages: number; seconds: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let token: string | undefined;
    let points = 0;
    let pages = 0;
    let lastStep = -1;
    const t = performance.now();
    do {
      const qs = new URLSearchParams({ run_id: runId, metric_key: key, max_results: String(pageSize) });
      if (token) qs.set('page_token', token);
      const page = JSON.parse(await getText(target, agent, `/api/2.0/mlflow/metrics/get-history?${qs}`)) as {
        metrics?: { step: number }[];
        next_page_token?: string;
      };
      const metrics = page.metrics ?? [];
      for (const m of metrics) {
        if (m.step < lastStep) throw new Error('history out of order');
        lastStep = m.step;
      }
      points += metrics.length;
      pages++;
      token = page.next_page_token;
    } while (token);
    const seconds = (performance.now() - t) / 1000;
    if (points !== expected) throw new Error(`history of ${key}: ${points} points, expected ${expected}`);
    return { pointsPerSecond: points / seconds, pages, seconds };
  } finally {
    agent.destroy();
  }
}

/**
 * Pages the same history through Falaj's own columnar endpoint: `format=f64` (packed float64,
 * read into Float64Arrays as a chart would) or JSON columns. Checks count and order.
 */
async function readHistoryV1(
  target: Target,
  runId: string,
  key: string,
  format: 'f64' | 'json',
  expected: number,
): Promise<{ pointsPerSecond: number; pages: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let token: string | undefined;
    let points = 0;
    let pages = 0;
    let lastStep = -1;
    const t = performance.now();
    do {
      const qs = new URLSearchParams({ key, format, maxResults: format === 'f64' ? '1000000' : '100000' });
      if (token) qs.set('pageToken', token);
      const res = await getRaw(
        target,
        agent,
        `/api/v1/projects/bench-tracking/runs/${runId}/metric-history?${qs}`,
      );
      let steps: ArrayLike<number>;
      if (format === 'f64') {
        const n = Number(res.headers['x-falaj-points']);
        const body = new Uint8Array(res.body);
        steps = new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + 24 * n), 0, n);
        token = res.headers['x-falaj-next-page-token'] as string | undefined;
      } else {
        const page = JSON.parse(res.body.toString('utf8')) as { steps: number[]; nextPageToken?: string };
        steps = page.steps;
        token = page.nextPageToken;
      }
      for (let i = 0; i < steps.length; i++) {
        if ((steps[i] as number) < lastStep) throw new Error('history out of order');
        lastStep = steps[i] as number;
      }
      points += steps.length;
      pages++;
    } while (token);
    const seconds = (performance.now() - t) / 1000;
    if (points !== expected) throw new Error(`history of ${key}: ${points} points, expected ${expected}`);
    return { pointsPerSecond: points / seconds, pages };
  } finally {
    agent.destroy();
  }
}

export interface TrackingFigures {
  points: number;
  seconds: number;
  pointsPerSecond: number;
  ratioToRaw: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  historyAfterIngest: { points: number; pointsPerSecond: number; pages: number };
  history?: {
    points: number;
    ingestPointsPerSecond: number;
    maxPage: { pointsPerSecond: number; pages: number };
    clientPage: { pointsPerSecond: number; pages: number };
    v1Json: { pointsPerSecond: number; pages: number };
    v1F64: { pointsPerSecond: number; pages: number };
    rssPeakMb: number;
  };
}

async function benchDialect(
  dialect: BenchDialect,
  points: number,
  historyPoints: number,
  rawRowsPerSecond: number,
): Promise<TrackingFigures> {
  const target = await startTarget(dialect);
  try {
    const { runIds } = await createExperimentAndRuns(target, 'ingest', CLIENTS);
    // Warm-up outside the figures: a few batches to a run of their own (JIT, statement cache).
    const warm = await createExperimentAndRuns(target, 'warm-up', 1);
    const warmAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let r = 0; r < 20; r++)
      await post(target, warmAgent, 'runs/log-batch', batchBody(warm.runIds[0]!, requestRows(r, 9)));
    warmAgent.destroy();

    const requests = Math.ceil(points / PER_REQUEST);
    const rssBefore = rssMb(target.server.pid);
    const rss = sampleRss(target.server.pid);
    // Each client its own share of the requests (the first ones one more when it doesn't divide).
    const share = (c: number) => Math.floor(requests / CLIENTS) + (c < requests % CLIENTS ? 1 : 0);
    const client = async (c: number) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let r = 0; r < share(c); r++) {
          await post(target, agent, 'runs/log-batch', batchBody(runIds[c]!, requestRows(r, c)));
        }
      } finally {
        agent.destroy();
      }
    };
    const t = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const seconds = (performance.now() - t) / 1000;
    const rssPeak = rss.stop();
    const sent = requests * PER_REQUEST;

    // Read-back: one key of the first run, in the largest page the server allows.
    const perRun = share(0) * STEPS_PER_REQUEST;
    const back = await readHistory(target, runIds[0]!, KEYS[0], HISTORY_MAX, perRun);

    const figures: TrackingFigures = {
      points: sent,
      seconds,
      pointsPerSecond: sent / seconds,
      ratioToRaw: sent / seconds / rawRowsPerSecond,
      rssBeforeMb: rssBefore,
      rssPeakMb: rssPeak,
      historyAfterIngest: { points: perRun, pointsPerSecond: back.pointsPerSecond, pages: back.pages },
    };

    if (historyPoints > 0) {
      // One key, one run, `historyPoints` steps, logged through the API in 1000-metric batches
      // by the same 4 clients (each sending its own range of steps).
      const { runIds: hist } = await createExperimentAndRuns(target, 'history', 1);
      const histRequests = Math.ceil(historyPoints / PER_REQUEST);
      let n = 0;
      const rssHist = sampleRss(target.server.pid);
      const th = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
          try {
            while (n < histRequests) {
              const r = n++;
              const rows: Row[] = new Array(PER_REQUEST);
              for (let i = 0; i < PER_REQUEST; i++) {
                const step = r * PER_REQUEST + i;
                rows[i] = { key: 'loss', step, timestamp: T0 + step * 25, value: metricValue(0, step, 3) };
              }
              await post(target, agent, 'runs/log-batch', batchBody(hist[0]!, rows));
            }
          } finally {
            agent.destroy();
          }
        }),
      );
      const histIngest = (histRequests * PER_REQUEST) / ((performance.now() - th) / 1000);
      const total = histRequests * PER_REQUEST;
      const maxPage = await readHistory(target, hist[0]!, 'loss', HISTORY_MAX, total);
      const clientPage = await readHistory(target, hist[0]!, 'loss', HISTORY_CLIENT_PAGE, total);
      const v1Json = await readHistoryV1(target, hist[0]!, 'loss', 'json', total);
      const v1F64 = await readHistoryV1(target, hist[0]!, 'loss', 'f64', total);
      figures.history = {
        points: total,
        ingestPointsPerSecond: histIngest,
        maxPage: { pointsPerSecond: maxPage.pointsPerSecond, pages: maxPage.pages },
        clientPage: { pointsPerSecond: clientPage.pointsPerSecond, pages: clientPage.pages },
        v1Json,
        v1F64,
        rssPeakMb: rssHist.stop(),
      };
    }
    return figures;
  } finally {
    await target.dispose();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

export async function benchTracking(opts: {
  points: number;
  dialects: BenchDialect[];
  /** Steps of the separate one-key history scenario (default 1,000,000; 0 skips it). */
  historyPoints?: number;
}): Promise<Record<string, unknown>> {
  const historyPoints = opts.historyPoints ?? 1_000_000;
  const raw = rawSqliteInsert(opts.points);
  const out: Record<string, unknown> = {
    raw: { points: opts.points, rowsPerSecond: raw.rowsPerSecond, variant: raw.variant },
  };
  for (const dialect of opts.dialects) {
    const f = await benchDialect(dialect, opts.points, historyPoints, raw.rowsPerSecond);
    out[dialect] = f;
    const goal = dialect === 'sqlite' ? 300_000 : 100_000;
    console.log(
      `\nTracking on ${dialect}: runs/log-batch over HTTP, ${CLIENTS} keep-alive clients × 1000 metrics/request (${KEYS.length} keys × ${STEPS_PER_REQUEST} steps), ${fmt(f.points)} points`,
    );
    const rows: [string, string][] = [
      [
        `ingest (goal ≥ ${fmt(goal)} points/s)`,
        `${fmt(f.pointsPerSecond)} points/s in ${f.seconds.toFixed(1)} s — ${verdict(f.pointsPerSecond >= goal)}`,
      ],
      ['raw better-sqlite3 anchor (same rows)', `${fmt(raw.rowsPerSecond)} rows/s (${raw.variant})`],
      ['ratio falaj/raw (goal ≥ 0.25)', `${f.ratioToRaw.toFixed(3)} ${verdict(f.ratioToRaw >= 0.25)}`],
      [
        'server RSS before → peak during ingest',
        `${f.rssBeforeMb.toFixed(0)} → ${f.rssPeakMb.toFixed(0)} MB (goal < 300 MB) ${verdict(f.rssPeakMb < 300)}`,
      ],
      [
        `history read-back, ${fmt(f.historyAfterIngest.points)} points of one key`,
        `${fmt(f.historyAfterIngest.pointsPerSecond)} points/s (${f.historyAfterIngest.pages} page)`,
      ],
    ];
    if (f.history) {
      const h = f.history;
      rows.push(
        [
          `history key: ingest of ${fmt(h.points)} steps (1 key, 1 run)`,
          `${fmt(h.ingestPointsPerSecond)} points/s`,
        ],
        [
          `MLflow get-history, max_results=${fmt(HISTORY_MAX)} (JSON objects)`,
          `${fmt(h.maxPage.pointsPerSecond)} points/s, ${h.maxPage.pages} page(s)`,
        ],
        [
          `MLflow get-history, max_results=${fmt(HISTORY_CLIENT_PAGE)} (MLflow client's page)`,
          `${fmt(h.clientPage.pointsPerSecond)} points/s, ${h.clientPage.pages} pages`,
        ],
        [
          'v1 metric-history, JSON columns, pages of 100,000',
          `${fmt(h.v1Json.pointsPerSecond)} points/s, ${h.v1Json.pages} page(s)`,
        ],
        [
          'v1 metric-history, format=f64 (goal ≥ 1,000,000/s)',
          `${fmt(h.v1F64.pointsPerSecond)} points/s, ${h.v1F64.pages} page(s) — ${verdict(h.v1F64.pointsPerSecond >= 1_000_000)}`,
        ],
        ['server RSS peak during the history scenario', `${h.rssPeakMb.toFixed(0)} MB`],
      );
    }
    console.log(table(rows));
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const points = Number(process.env.FALAJ_BENCH_POINTS ?? 2_000_000);
  const dialects = (process.env.FALAJ_BENCH_DIALECTS ?? 'sqlite,postgres')
    .split(',')
    .map((d) => d.trim())
    .filter((d): d is BenchDialect => d === 'sqlite' || d === 'postgres');
  const historyPoints = Number(process.env.FALAJ_BENCH_HISTORY_POINTS ?? 1_000_000);
  await benchTracking({ points, dialects, historyPoints });
}
