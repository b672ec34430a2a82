// An in-process throughput figure for log-batch (not the benchmark: no sockets, one client).
// Opt-in: FALAJ_PERF=1 npx vitest run test/tracking/log-batch-throughput.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experimentAndRun, setupTracking, type TrackingTest } from './helpers.js';

describe.runIf(process.env.FALAJ_PERF === '1')('log-batch throughput on sqlite (in process)', () => {
  let x: TrackingTest;
  beforeAll(async () => {
    x = await setupTracking('sqlite');
  });
  afterAll(async () => x?.close());

  it('ingests 200 requests of 1000 metrics', async () => {
    const { runId } = await experimentAndRun(x, 'perf');
    const bodies = Array.from({ length: 200 }, (_, r) =>
      JSON.stringify({
        run_id: runId,
        metrics: Array.from({ length: 1000 }, (_, i) => ({
          key: `metric_${i % 20}`,
          value: Math.random(),
          timestamp: 1_700_000_000_000 + r,
          step: r * 50 + Math.floor(i / 20),
        })),
      }),
    );
    const send = (payload: string) =>
      x.t.app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/runs/log-batch',
        headers: { authorization: `Bearer ${x.alpha}`, 'content-type': 'application/json' },
        payload,
      });
    for (const b of bodies.slice(0, 10)) await send(b); // warm-up
    const t0 = performance.now();
    for (const b of bodies) expect((await send(b)).statusCode).toBe(200);
    const ms = performance.now() - t0;
    console.log(
      `log-batch: ${bodies.length} × 1000 metrics in ${ms.toFixed(0)} ms = ${Math.round((bodies.length * 1000) / (ms / 1000))} points/s`,
    );
  }, 120_000);
});
