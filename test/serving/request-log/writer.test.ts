// The request log on both dialects: entries written as Parquet per deployment and hour, read back
// through DuckDB with every value, PII policies, sampling, a failing artifact store, encryption.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../src/http/services.js';
import { Keyring } from '../../../src/security/secrets/keyring.js';
import {
  hashValue,
  holdRequestLogBlobs,
  openRequestLog,
  projectHashKey,
  type RequestLogEntry,
  RequestLogWriter,
  recordLabels,
  sampleShare,
} from '../../../src/serving/request-log/index.js';
import { DIALECTS } from '../../support/dialects.js';
import {
  classifierEntry,
  D1,
  D2,
  type Env,
  failedEntry,
  openEnv,
  P,
  regressorEntry,
  T0,
  withFailingPut,
} from './helpers.js';

const HOUR = 3_600_000;
const quiet = { onError: () => {} };

async function files(svc: Services, deploymentId: string) {
  return svc.store.db
    .selectFrom('serving_log_files')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .orderBy('hour')
    .execute();
}

async function clearLog(svc: Services): Promise<void> {
  await svc.store.db.deleteFrom('serving_log_files').execute();
  await svc.store.db.deleteFrom('serving_labels').execute();
}

describe.each(DIALECTS)('request log on %s', (dialect) => {
  let env: Env;
  beforeAll(async () => {
    env = await openEnv(dialect);
    holdRequestLogBlobs(env.svc);
  });
  afterAll(() => env.close());
  afterEach(() => clearLog(env.svc));

  it('writes classifier, regressor and failed requests and reads every value back', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, quiet);
    w.append(classifierEntry('req-c1', T0 + 1000));
    w.append(failedEntry('req-f1', T0 + 2000));
    w.append(regressorEntry('req-r1', T0 + 3000, 412_000.5, 1450));
    w.append(regressorEntry('req-r2', T0 + 4000, 98_000, 700));
    expect(w.stats()).toEqual({ buffered: 6, written: 0, dropped: 0, files: 0 });
    await w.flush();
    expect(w.stats()).toEqual({ buffered: 0, written: 6, dropped: 0, files: 2 });

    const f1 = await files(svc, D1);
    expect(f1).toHaveLength(1);
    expect(Number(f1[0]!.hour)).toBe(T0);
    expect(Number(f1[0]!.rows)).toBe(4);
    expect(Number(f1[0]!.first_at)).toBe(T0 + 1000);
    expect(Number(f1[0]!.last_at)).toBe(T0 + 2000);
    expect(f1[0]!.project_id).toBe(P);
    expect(f1[0]!.path).toMatch(/^serving-logs\/churn\/2026-11-26T12\/[0-9a-f]{32}\.parquet$/);

    const log = await openRequestLog(svc, D1);
    try {
      const rows = await log.query(
        'SELECT * EXCLUDE ("time"), epoch_ms("time") AS t FROM requests ORDER BY request_id, "row"',
      );
      expect(rows.map((r) => [r.request_id, r.row])).toEqual([
        ['req-c1', 0],
        ['req-c1', 1],
        ['req-c1', 2],
        ['req-f1', 0],
      ]);
      const [c0, c1, c2, f] = rows as Record<string, unknown>[];
      expect(c0).toMatchObject({
        t: BigInt(T0 + 1000),
        revision: 3,
        model: 'churn-model',
        model_version: 2,
        variant: 'primary',
        protocol: 'v2',
        status: 200,
        latency_ms: 12.5,
        error: null,
        in_age: 31,
        in_city: 'Dubai',
        out_label: 'yes',
        out_proba_no: 0.25,
        out_proba_yes: 0.75,
      });
      expect(c1).toMatchObject({ in_age: null, in_city: null, out_label: 'no', out_proba_no: 0.9 });
      expect(c2).toMatchObject({ in_age: 57, in_city: 'Muscat', out_label: 'yes', out_proba_yes: 0.6 });
      expect(f).toMatchObject({
        status: 422,
        latency_ms: 1.25,
        error: 'FALAJ_INVALID_ARGUMENT: input age is missing',
        in_age: null,
        in_city: null,
        out_label: null,
        out_proba_no: null,
      });
      const types = await log.query<{ column_name: string; column_type: string }>('DESCRIBE requests');
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({
        request_id: 'VARCHAR',
        row: 'INTEGER',
        time: 'TIMESTAMP',
        status: 'INTEGER',
        in_age: 'DOUBLE',
        in_city: 'VARCHAR',
        out_label: 'VARCHAR',
        out_proba_yes: 'DOUBLE',
      });
      // Only the scratch folder is readable from here.
      await expect(log.query("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow(/disabled|Permission/);
      // A failure is never a success.
      const ok = await log.query<{ n: bigint }>('SELECT count(*) AS n FROM requests WHERE status < 400');
      expect(ok[0]!.n).toBe(3n);
    } finally {
      await log.close();
    }

    const reg = await openRequestLog(svc, D2);
    try {
      const rows = await reg.query(
        'SELECT request_id, in_sqft, out_value, variant, protocol, latency_ms FROM requests ORDER BY request_id',
      );
      expect(rows).toEqual([
        {
          request_id: 'req-r1',
          in_sqft: 1450,
          out_value: 412_000.5,
          variant: 'canary',
          protocol: 'mlflow',
          latency_ms: 3,
        },
        {
          request_id: 'req-r2',
          in_sqft: 700,
          out_value: 98_000,
          variant: 'canary',
          protocol: 'mlflow',
          latency_ms: 3,
        },
      ]);
    } finally {
      await reg.close();
    }
  });

  it('partitions by hour, filters by range and reads files of different versions by name', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, quiet);
    w.append(classifierEntry('h1', T0 + 10));
    await w.flush();
    // The next model version takes another input column and drops `city`.
    const v3 = classifierEntry('h2', T0 + HOUR + 10, { modelVersion: 3 });
    v3.batch = {
      rows: 1,
      columns: new Map([
        ['age', Float64Array.from([40])],
        ['tenure', Float64Array.from([7])],
      ]),
    };
    v3.prediction = {
      kind: 'classifier',
      labels: ['no'],
      classes: ['no', 'yes'],
      probabilities: [[0.8, 0.2]],
    };
    w.append(v3);
    await w.flush();
    const fs = await files(svc, D1);
    expect(fs.map((f) => Number(f.hour))).toEqual([T0, T0 + HOUR]);
    expect(fs[1]!.path).toContain('/2026-11-26T13/');

    const log = await openRequestLog(svc, D1);
    try {
      const rows = await log.query(
        'SELECT request_id, "row", model_version, in_age, in_city, in_tenure FROM requests ORDER BY "time", "row"',
      );
      expect(rows).toEqual([
        { request_id: 'h1', row: 0, model_version: 2, in_age: 31, in_city: 'Dubai', in_tenure: null },
        { request_id: 'h1', row: 1, model_version: 2, in_age: null, in_city: null, in_tenure: null },
        { request_id: 'h1', row: 2, model_version: 2, in_age: 57, in_city: 'Muscat', in_tenure: null },
        { request_id: 'h2', row: 0, model_version: 3, in_age: 40, in_city: null, in_tenure: 7 },
      ]);
    } finally {
      await log.close();
    }
    const second = await openRequestLog(svc, D1, { from: T0 + HOUR });
    const first = await openRequestLog(svc, D1, { from: T0, to: T0 + HOUR });
    const none = await openRequestLog(svc, D1, { from: T0 + 2 * HOUR });
    try {
      expect(
        (await second.query('SELECT DISTINCT request_id FROM requests')).map((r) => r.request_id),
      ).toEqual(['h2']);
      expect(
        (await first.query('SELECT DISTINCT request_id FROM requests')).map((r) => r.request_id),
      ).toEqual(['h1']);
      expect(await none.query('SELECT * FROM labelled')).toEqual([]);
    } finally {
      await Promise.all([second.close(), first.close(), none.close()]);
    }
  });

  it('widens a column numeric in one entry and text in another, and keeps names differing by case apart', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, quiet);
    const a = classifierEntry('w-1', T0 + 1);
    a.batch = {
      rows: 1,
      columns: new Map([
        ['code', Float64Array.from([7])],
        ['Age', Float64Array.from([1])],
      ]),
    };
    a.prediction = { kind: 'classifier', labels: [1], classes: [0, 1], probabilities: [[0.3, 0.7]] };
    const b = classifierEntry('w-2', T0 + 2);
    b.batch = {
      rows: 1,
      columns: new Map<string, Float64Array | (string | null)[]>([
        ['code', ['X9']],
        ['age', Float64Array.from([2])],
      ]),
    };
    b.prediction = { kind: 'classifier', labels: [0], classes: [0, 1], probabilities: [[0.6, 0.4]] };
    w.append(a);
    w.append(b);
    await w.flush();
    const log = await openRequestLog(svc, D1);
    try {
      const rows = await log.query('SELECT * EXCLUDE ("time") FROM requests ORDER BY request_id');
      expect(rows.map((r) => [r.in_code, r.in_Age, r.in_age__2, r.out_label, r.out_proba_1])).toEqual([
        ['7', 1, null, 1, 0.7],
        ['X9', null, 2, 0, 0.4],
      ]);
    } finally {
      await log.close();
    }
  });

  it('hashes PII columns with a keyed hash, or drops them', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, quiet);
    const entry = (id: string, policy: 'hash' | 'drop' | 'keep'): RequestLogEntry => {
      const e = classifierEntry(id, T0 + 5);
      e.batch = {
        rows: 3,
        columns: new Map<string, Float64Array | (string | null)[]>([
          ['age', Float64Array.from([30, 40, 50])],
          ['email', ['a@x.ae', 'b@x.ae', 'a@x.ae']],
        ]),
      };
      e.privacy = { columns: ['email'], policy };
      return e;
    };
    w.append(entry('pii-hash', 'hash'));
    await w.flush();
    let log = await openRequestLog(svc, D1);
    try {
      const rows = await log.query<{ in_email: string; in_age: number }>(
        'SELECT in_email, in_age FROM requests ORDER BY "row"',
      );
      const key = projectHashKey(svc, P);
      expect(rows[0]!.in_email).toBe(hashValue(key, 'a@x.ae'));
      expect(rows[0]!.in_email).toMatch(/^[0-9a-f]{64}$/);
      expect(rows[2]!.in_email).toBe(rows[0]!.in_email);
      expect(rows[1]!.in_email).not.toBe(rows[0]!.in_email);
      expect(rows[0]!.in_email).not.toBe(createHash('sha256').update('a@x.ae').digest('hex'));
      expect(rows.map((r) => r.in_age)).toEqual([30, 40, 50]);
      // The key is stable: another process (a fresh keyring on the same data dir) hashes the same.
      const again = projectHashKey({ keyring: Keyring.open(env.sb.dataDir) } as Services, P);
      expect(again.equals(key)).toBe(true);
      expect(projectHashKey(svc, 'another-project').equals(key)).toBe(false);
    } finally {
      await log.close();
    }
    await clearLog(svc);

    w.append(entry('pii-drop', 'drop'));
    await w.flush();
    log = await openRequestLog(svc, D1);
    try {
      const cols = (await log.query<{ column_name: string }>('DESCRIBE requests')).map((c) => c.column_name);
      expect(cols).toContain('in_age');
      expect(cols).not.toContain('in_email');
    } finally {
      await log.close();
    }
    await clearLog(svc);

    w.append(entry('pii-keep', 'keep'));
    await w.flush();
    log = await openRequestLog(svc, D1);
    try {
      const rows = await log.query('SELECT in_email FROM requests ORDER BY "row"');
      expect(rows.map((r) => r.in_email)).toEqual(['a@x.ae', 'b@x.ae', 'a@x.ae']);
    } finally {
      await log.close();
    }
  });

  it('joins labels in the labelled view', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, quiet);
    w.append(classifierEntry('lab-1', T0 + 1));
    w.append(regressorEntry('lab-r', T0 + 2, 5, 6));
    await w.flush();
    await recordLabels(
      svc,
      D1,
      [
        { requestId: 'lab-1', row: 0, label: 'yes' },
        { requestId: 'lab-1', row: 2, label: 'no' },
        { requestId: 'unlogged', label: 'no' },
      ],
      'alice',
    );
    await recordLabels(svc, D2, [{ requestId: 'lab-r', label: 4.5 }], 'alice');
    const log = await openRequestLog(svc, D1);
    const reg = await openRequestLog(svc, D2);
    try {
      const rows = await log.query('SELECT "row", out_label, label FROM labelled ORDER BY "row"');
      expect(rows).toEqual([
        { row: 0, out_label: 'yes', label: 'yes' },
        { row: 1, out_label: 'no', label: null },
        { row: 2, out_label: 'yes', label: 'no' },
      ]);
      const acc = await log.query<{ acc: number }>(
        'SELECT avg((out_label = label)::INTEGER) AS acc FROM labelled WHERE label IS NOT NULL',
      );
      expect(acc[0]!.acc).toBe(0.5);
      expect(await reg.query('SELECT out_value, label FROM labelled')).toEqual([
        { out_value: 5, label: 4.5 },
      ]);
    } finally {
      await Promise.all([log.close(), reg.close()]);
    }
  });

  it('samples by request id and always keeps failures', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, { ...quiet, sample: (d) => (d === D2 ? 0.5 : 1) });
    for (let i = 0; i < 2000; i++) w.append(regressorEntry(`s-${i}`, T0 + i, i, i));
    const kept = w.stats().buffered;
    expect(kept).toBeGreaterThanOrEqual(800);
    expect(kept).toBeLessThanOrEqual(1200);
    // Deterministic: the same ids give the same decisions.
    const again = new RequestLogWriter(svc, { ...quiet, sample: () => 0.5 });
    for (let i = 0; i < 2000; i++) again.append(regressorEntry(`s-${i}`, T0 + i, i, i));
    expect(again.stats().buffered).toBe(kept);
    const expected = Array.from({ length: 2000 }, (_, i) => sampleShare(`s-${i}`) < 0.5).filter(
      Boolean,
    ).length;
    expect(kept).toBe(expected);
    // Failures are kept at any rate, even 0; D1 is not sampled.
    const zero = new RequestLogWriter(svc, { ...quiet, sample: () => 0 });
    for (let i = 0; i < 100; i++) zero.append(failedEntry(`e-${i}`, T0 + i, D2));
    for (let i = 0; i < 100; i++) zero.append(regressorEntry(`z-${i}`, T0 + i, i, i));
    expect(zero.stats().buffered).toBe(100);
    await zero.flush();
    const log = await openRequestLog(svc, D2);
    try {
      const n = await log.query<{ n: bigint }>('SELECT count(*) AS n FROM requests WHERE status = 422');
      expect(n[0]!.n).toBe(100n);
    } finally {
      await log.close();
    }
  });

  it('keeps entries when the artifact store fails and writes them on the next flush', async () => {
    const errors: unknown[] = [];
    const failing = withFailingPut(env.svc, 1);
    const w = new RequestLogWriter(failing.svc, { onError: (e) => errors.push(e) });
    w.append(classifierEntry('keep-1', T0 + 1));
    w.append(failedEntry('keep-2', T0 + 2));
    await expect(w.flush()).rejects.toThrow(/artifact store unavailable/);
    expect(errors).toHaveLength(1);
    expect(w.stats()).toEqual({ buffered: 4, written: 0, dropped: 0, files: 0 });
    expect(await files(env.svc, D1)).toHaveLength(0);
    w.append(classifierEntry('keep-3', T0 + 3));
    await w.flush();
    expect(w.stats()).toEqual({ buffered: 0, written: 7, dropped: 0, files: 1 });
    const log = await openRequestLog(env.svc, D1);
    try {
      const ids = await log.query('SELECT DISTINCT request_id FROM requests ORDER BY 1');
      expect(ids.map((r) => r.request_id)).toEqual(['keep-1', 'keep-2', 'keep-3']);
    } finally {
      await log.close();
    }
  });

  it('stores the Parquet blob encrypted, and the reaper keeps it', async () => {
    const { svc } = env;
    const w = new RequestLogWriter(svc, quiet);
    w.append(classifierEntry('enc-1', T0 + 1));
    await w.flush();
    const [f] = await files(svc, D1);
    const raw = readFileSync(
      path.join(env.sb.dataDir, 'artifacts', 'blobs', f!.digest.slice(0, 2), f!.digest, 'data'),
    );
    expect(raw.length).toBeGreaterThan(4);
    expect(raw.subarray(0, 4).toString('latin1')).not.toBe('PAR1');
    expect(raw.includes(Buffer.from('Dubai'))).toBe(false);
    const chunks: Buffer[] = [];
    for await (const c of await svc.artifacts.get(f!.digest)) chunks.push(c as Buffer);
    const plain = Buffer.concat(chunks);
    expect(plain.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(Number(f!.bytes)).toBe(plain.length);
    await svc.reaper.consider(f!.digest);
    expect(await svc.artifacts.has(f!.digest)).toBe(true);
  });

  it('drops past the buffer cap, flushes at maxRows and on the timer, and stop() flushes', async () => {
    const { svc } = env;
    const capped = new RequestLogWriter(svc, { ...quiet, maxBufferedRows: 5 });
    capped.append(classifierEntry('cap-1', T0));
    capped.append(classifierEntry('cap-2', T0));
    capped.append(failedEntry('cap-3', T0));
    expect(capped.stats()).toMatchObject({ buffered: 4, dropped: 3 });
    // A throwing sampler never reaches the request path.
    const bad = new RequestLogWriter(svc, {
      ...quiet,
      sample: () => {
        throw new Error('x');
      },
    });
    expect(() => bad.append(regressorEntry('b', T0, 1, 1))).not.toThrow();

    const full = new RequestLogWriter(svc, { ...quiet, maxRows: 3 });
    full.append(classifierEntry('full-1', T0));
    await new Promise((r) => setTimeout(r, 50));
    await full.flush();
    expect(full.stats()).toMatchObject({ buffered: 0, written: 3, files: 1 });

    const timed = new RequestLogWriter(svc, { ...quiet, flushMs: 20 });
    timed.start();
    timed.append(regressorEntry('timed-1', T0, 1, 1));
    for (let i = 0; i < 100 && timed.stats().written === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(timed.stats().written).toBe(1);
    timed.append(regressorEntry('timed-2', T0, 1, 1));
    await timed.stop();
    expect(timed.stats()).toMatchObject({ buffered: 0, written: 2 });
  });
});

describe('request log append cost', () => {
  it('measures append() for 100k one-row entries (not asserted)', async () => {
    const svc = {} as Services; // append touches no service
    const w = new RequestLogWriter(svc, { maxRows: Number.MAX_SAFE_INTEGER, ...quiet });
    const entries = Array.from({ length: 100_000 }, (_, i) => regressorEntry(`m-${i}`, T0 + i, i, i));
    for (let i = 0; i < 1000; i++) w.append(entries[i]!); // warm up
    const sampled = new RequestLogWriter(svc, {
      maxRows: Number.MAX_SAFE_INTEGER,
      sample: () => 0.5,
      ...quiet,
    });
    const t0 = process.hrtime.bigint();
    for (const e of entries) w.append(e);
    const t1 = process.hrtime.bigint();
    for (const e of entries) sampled.append(e);
    const t2 = process.hrtime.bigint();
    const us = (a: bigint, b: bigint) => (Number(b - a) / 1000 / entries.length).toFixed(3);
    console.log(
      `request log append(): ${us(t0, t1)} µs/entry unsampled, ${us(t1, t2)} µs/entry sampled at 0.5 (100k one-row entries)`,
    );
    expect(w.stats().buffered).toBe(101_000);
  });
});
