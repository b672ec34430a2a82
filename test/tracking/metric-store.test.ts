import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  insertMetrics,
  type MetricPoint,
  metricHistory,
  metricSeries,
  pagePoints,
} from '../../src/tracking/metric-store.js';
import type { DialectName } from '../support/dialects.js';
import { DIALECTS } from '../support/dialects.js';
import { prng } from '../support/prng.js';
import { experimentAndRun, setupTracking, type TrackingTest } from './helpers.js';

// The chunked history store on its own: however points arrive (out of order, duplicated
// (step, timestamp) pairs, one at a time or in batches, overlapping between batches), paging
// through them with any page size must give exactly the stable (step, timestamp) order.
describe.each(DIALECTS)('metric chunks on %s', (dialect: DialectName) => {
  let x: TrackingTest;
  beforeAll(async () => {
    x = await setupTracking(dialect);
  });
  afterAll(() => x.close());

  const store = () => x.t.svc.store;
  const insert = (runId: string, points: MetricPoint[]) =>
    store()
      .db.transaction()
      .execute((tx) => insertMetrics(tx, store().dialect, runId, points));
  async function pageAll(runId: string, key: string, size: number): Promise<MetricPoint[]> {
    const out: MetricPoint[] = [];
    let token: string | undefined;
    for (let pages = 0; pages < 10_000; pages++) {
      const page = await metricHistory(store().db, runId, key, size, token);
      out.push(...pagePoints(page));
      if (!page.nextPageToken) return out;
      token = page.nextPageToken;
    }
    throw new Error('paging did not end');
  }

  it('pages any insertion pattern in stable (step, timestamp) order', async () => {
    const { runId } = await experimentAndRun(x, `chunks-${dialect}`);
    const rnd = prng(7);
    const expected: (MetricPoint & { seq: number })[] = [];
    let seq = 0;
    // 60 calls: some batches of 1-5 points (compacted into the last chunk), some of 50-300
    // (chunks of their own), steps drawn from a small range so that chunks overlap and pairs repeat.
    for (let call = 0; call < 60; call++) {
      const n = call % 3 === 0 ? 50 + Math.floor(rnd() * 250) : 1 + Math.floor(rnd() * 5);
      const points: MetricPoint[] = [];
      for (let i = 0; i < n; i++) {
        const step = Math.floor(rnd() * 400);
        const p = { key: 'k', step, timestamp: Math.floor(rnd() * 3), value: seq };
        points.push(p);
        expected.push({ ...p, seq: seq++ });
      }
      // A second key in the same calls must not disturb the first.
      points.push({ key: 'other', step: call, timestamp: 0, value: call });
      await insert(runId, points);
    }
    expected.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp || a.seq - b.seq);
    const want = expected.map(({ seq: _, ...p }) => p);
    for (const size of [1, 7, 100, 5000]) expect(await pageAll(runId, 'k', size)).toEqual(want);
    expect((await pageAll(runId, 'other', 9)).map((p) => p.value)).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    const [series] = await metricSeries(
      store().db,
      (
        await x.t.svc.store.db
          .selectFrom('runs')
          .select('project_id')
          .where('id', '=', runId)
          .executeTakeFirstOrThrow()
      ).project_id,
      [runId],
      ['k'],
    );
    expect(Array.from(series!.series.values)).toEqual(want.map((p) => p.value));
  });

  it('keeps one-at-a-time points in few rows (appended to the last small chunk)', async () => {
    const { runId } = await experimentAndRun(x, `single-${dialect}`);
    for (let step = 0; step < 1500; step += 50) {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        key: 'loss',
        step: step + i,
        timestamp: step + i,
        value: 1 / (step + i + 1),
      }));
      for (const p of batch.slice(0, 3)) await insert(runId, [p]);
      await insert(runId, batch.slice(3));
    }
    const rows = await store()
      .db.selectFrom('metric_chunks')
      .select(['n'])
      .where('run_id', '=', runId)
      .execute();
    // 90 single points went into existing chunks; only the 47-point batches made new rows.
    expect(rows.length).toBeLessThanOrEqual(31);
    expect(rows.reduce((a, r) => a + r.n, 0)).toBe(1500);
    expect((await pageAll(runId, 'loss', 333)).map((p) => p.step)).toEqual(
      Array.from({ length: 1500 }, (_, i) => i),
    );
  });

  it('refuses a forged page token', async () => {
    await expect(
      metricHistory(store().db, 'r', 'k', 10, Buffer.from('{"s":"x"}').toString('base64url')),
    ).rejects.toThrow(/Invalid page token/);
  });
});
