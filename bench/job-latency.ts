// Local executor latency (issue 6: queued → process started, p95 < 200 ms): a real server
// process with its scheduler loop; jobs submitted one after another over HTTP; for each, the
// time from the submit request to the moment its process wrote its first line (the process
// prints Date.now() as it starts). The anchor: spawning the same `node -e` directly.
//
//   npx tsx bench/job-latency.ts [--jobs 40]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startServerProcess } from '../test/support/server-process.js';

const { values } = parseArgs({ options: { jobs: { type: 'string' } } });
const n = Number(values.jobs ?? 40);
const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-jobs-'));
const server = await startServerProcess({ dataDir: dir });
const call = async (method: string, url: string, token: string | undefined, body?: unknown) => {
  const res = await fetch(server.url + url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
};
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;
try {
  const login = await call('POST', '/api/v1/auth/login', undefined, {
    username: 'admin',
    password: 'e2e-admin-password',
  });
  const token = login.token as string;
  await call('POST', '/api/v1/projects', token, { name: 'bench' });
  const command = [process.execPath, '-e', 'console.log(Date.now())'];
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    const job = await call('POST', '/api/v1/projects/bench/jobs', token, {
      spec: { command, resources: { cpu: 0.1, memory: '64Mi' } },
    });
    for (;;) {
      const logs = await fetch(`${server.url}/api/v1/projects/bench/jobs/${job.id}/logs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const first = Number.parseInt((await logs.text()).trim(), 10);
      if (first > 0) {
        latencies.push(first - t0);
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  const anchor: number[] = [];
  for (let i = 0; i < Math.min(n, 20); i++) {
    const t0 = Date.now();
    const r = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8' });
    anchor.push(Number.parseInt(r.stdout, 10) - t0);
  }
  console.log(`Local executor, ${n} jobs submitted one after another (submit → the process's first line):`);
  console.log(
    `  p50 ${pct(latencies, 50)} ms, p95 ${pct(latencies, 95)} ms, max ${Math.max(...latencies)} ms (goal p95 < 200 ms: ${pct(latencies, 95) < 200 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  anchor, spawning the same node -e directly: p50 ${pct(anchor, 50)} ms, p95 ${pct(anchor, 95)} ms`,
  );
} finally {
  server.kill('SIGTERM');
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}
