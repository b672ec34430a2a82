// `kill -9` of a real server process in the middle of a stream of MLflow log-batch calls: after a
// restart on the same data dir (and schema), every acknowledged batch is present in full and no
// batch is present in part. Starts the built CLI: run `npm run build` first.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createSandbox, DIALECTS } from '../support/dialects.js';
import { loginAdmin, type ServerProcess, startServerProcess } from '../support/server-process.js';

const ML = '/api/2.0/mlflow';
const PER_BATCH = 200;
const CLIENTS = 4;
/** Acknowledged batches before the kill. */
const ACKED_BEFORE_KILL = 40;

/** Batch `b` holds the steps [b·200, b·200+200) of key `m`, each valued b·1000 + its index. */
function batchBody(runId: string, b: number): string {
  const metrics = Array.from({ length: PER_BATCH }, (_, i) => ({
    key: 'm',
    value: b * 1000 + i,
    timestamp: 1_700_000_000_000 + b,
    step: b * PER_BATCH + i,
  }));
  return JSON.stringify({ run_id: runId, metrics });
}

function postBatch(agent: http.Agent, url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${ML}/runs/log-batch`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(DIALECTS)('kill -9 during a stream of log-batch calls on %s', (dialect) => {
  it('keeps every acknowledged batch and no batch in part', async () => {
    const sandbox = await createSandbox(dialect);
    const start = () => startServerProcess({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
    let server: ServerProcess | undefined = await start();
    try {
      const admin = await loginAdmin(server.url);
      const call = async (token: string, path: string, body: unknown, expected = 200) => {
        const res = await fetch(`${server!.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        expect(res.status, text).toBe(expected);
        return JSON.parse(text) as Record<string, unknown>;
      };
      await call(admin, '/api/v1/projects', { name: 'crash' }, 201);
      const { token } = (await call(
        admin,
        '/api/v1/projects/crash/tokens',
        { name: 'writer', role: 'editor' },
        201,
      )) as { token: string };
      const { experiment_id } = (await call(token, `${ML}/experiments/create`, { name: 'stream' })) as {
        experiment_id: string;
      };
      const created = (await call(token, `${ML}/runs/create`, { experiment_id })) as {
        run: { info: { run_id: string } };
      };
      const runId = created.run.info.run_id;

      // The stream: 4 clients on keep-alive connections, each sending the next batch number as
      // soon as its previous one is answered, so that requests are always in flight.
      const sent = new Set<number>();
      const acked = new Set<number>();
      let next = 0;
      let killed = false;
      const victim = server;
      const clients = Array.from({ length: CLIENTS }, async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          while (!killed) {
            const b = next++;
            sent.add(b);
            let status: number;
            try {
              status = await postBatch(agent, victim.url, token, batchBody(runId, b));
            } catch {
              return; // the server died under this request
            }
            if (killed) return; // an answer that raced the kill is not counted either way
            expect(status).toBe(200);
            acked.add(b);
            if (acked.size >= ACKED_BEFORE_KILL && !killed) {
              killed = true;
              victim.kill('SIGKILL'); // without waiting for the other clients' requests
            }
          }
        } finally {
          agent.destroy();
        }
      });
      await Promise.all(clients);
      expect(await victim.exited).toBe('SIGKILL');
      server = undefined;
      expect(acked.size).toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);
      expect(sent.size).toBeGreaterThan(acked.size); // some were in flight when it died

      server = await start();
      const res = await fetch(
        `${server.url}${ML}/metrics/get-history?${new URLSearchParams({
          run_id: runId,
          metric_key: 'm',
          max_results: '100000',
        })}`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(res.status).toBe(200);
      const history = ((await res.json()) as { metrics?: { step: number; value: number }[] }).metrics ?? [];
      const perBatch = new Map<number, number>();
      for (const m of history) {
        const b = Math.floor(m.step / PER_BATCH);
        expect(m.value).toBe(b * 1000 + (m.step - b * PER_BATCH));
        perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
      }
      for (const [b, n] of perBatch) {
        expect(sent.has(b), `batch ${b} was never sent`).toBe(true);
        expect(n, `batch ${b} is present in part`).toBe(PER_BATCH);
      }
      for (const b of acked) expect(perBatch.get(b), `acknowledged batch ${b} is missing`).toBe(PER_BATCH);

      // The latest value moved with the batches that are there, and only with them.
      const got = await fetch(`${server.url}${ML}/runs/get?run_id=${runId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(got.status).toBe(200);
      const run = (await got.json()) as { run: { data: { metrics?: { key: string; step: number }[] } } };
      const maxStep = Math.max(...[...perBatch.keys()].map((b) => b * PER_BATCH + PER_BATCH - 1));
      expect(run.run.data.metrics?.find((m) => m.key === 'm')?.step).toBe(maxStep);

      // And the restarted server takes the stream up again.
      const agent = new http.Agent({ keepAlive: true });
      expect(await postBatch(agent, server.url, token, batchBody(runId, next + 1))).toBe(200);
      agent.destroy();
    } finally {
      if (server) {
        server.kill('SIGTERM');
        await server.exited;
      }
      await sandbox.dispose();
    }
  }, 60_000);
});
