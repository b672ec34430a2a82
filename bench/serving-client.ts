// The load generator of bench/serving.ts, forked as its own process so that it never shares an
// event loop with the server it measures. It takes one job per IPC message and answers with its
// figures:
//   closed: `concurrency` keep-alive clients, each sending its next request when the last one
//           answered, for `seconds` (requests/s, p50/p99 latency);
//   open:   requests sent on a fixed schedule of `rate` per second whatever the answers do
//           (open loop); a request's latency runs from the time it was due, so a late answer
//           delays nobody's clock (no coordinated omission).
// Both cycle through the same pre-serialised request bodies, so the anchor and the subject get
// the same bytes.
import http from 'node:http';

export interface ClientJob {
  type: 'closed' | 'open';
  url: string;
  headers: Record<string, string>;
  bodies: string[];
  seconds: number;
  concurrency: number;
  /** Requests per second (open loop only). */
  rate?: number;
}

export interface ClientResult {
  requests: number;
  failed: number;
  firstFailure?: string;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function run(job: ClientJob): Promise<ClientResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const target = new URL(job.url);
  const bodies = job.bodies.map((b) => Buffer.from(b));
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;

  const send = (body: Buffer) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { ...job.headers, 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          const ok = res.statusCode === 200;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (!ok && firstFailure === undefined) chunks.push(c);
          });
          res.on('end', () => {
            if (!ok) {
              failed++;
              firstFailure ??= `${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        failed++;
        firstFailure ??= String(err);
        resolve();
      });
      req.end(body);
    });
  const nextBody = () => bodies[next++ % bodies.length] as Buffer;

  const start = performance.now();
  if (job.type === 'closed') {
    const deadline = start + job.seconds * 1000;
    const worker = async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await send(nextBody());
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, worker));
  } else {
    const rate = job.rate ?? 500;
    const total = Math.round(rate * job.seconds);
    const interval = 1000 / rate;
    const pending: Promise<void>[] = [];
    await new Promise<void>((resolve) => {
      let i = 0;
      const tick = () => {
        const now = performance.now();
        // Send every request that is due (a late timer sends the backlog at once).
        while (i < total && start + i * interval <= now) {
          const due = start + i * interval;
          pending.push(send(nextBody()).then(() => void latencies.push(performance.now() - due)));
          i++;
        }
        if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
        else resolve();
      };
      tick();
    });
    await Promise.all(pending);
  }
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    failed,
    ...(firstFailure !== undefined ? { firstFailure } : {}),
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

process.on('message', (job: ClientJob) => {
  void run(job).then(
    (result) => process.send!({ ok: true, result }),
    (err: unknown) => process.send!({ ok: false, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
