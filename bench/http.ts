// Requests/s of an authenticated GET /api/v1/projects against a bare node:http server answering
// the same JSON, both as separate processes driven by the same client loop in the same run.
// Goal: ratio ≥ 0.4. Also reports the server's idle RSS.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadGet, rssMb, startBenchServer, table } from './support.js';

async function startBareServer(body: string): Promise<{ url: string; stop: () => void }> {
  const src = `
    const http = require('node:http');
    const body = ${JSON.stringify(body)};
    const s = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const proc = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) =>
    createInterface({ input: proc.stdout! }).once('line', resolve),
  );
  return { url: `http://127.0.0.1:${port}/api/v1/projects`, stop: () => proc.kill() };
}

export async function benchHttp(opts: { seconds: number }): Promise<Record<string, number>> {
  const server = await startBenchServer();
  try {
    const auth = { authorization: `Bearer ${server.token}` };
    for (const name of ['churn-model', 'fraud', 'pricing']) {
      await fetch(`${server.url}/api/v1/projects`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name, description: `benchmark project ${name}` }),
      });
    }
    const subjectUrl = `${server.url}/api/v1/projects`;
    const body = await (await fetch(subjectUrl, { headers: auth })).text();
    const idleRss = rssMb(server.pid);
    const bare = await startBareServer(body);
    try {
      // Warm both up, then measure alternately so that machine noise hits both alike.
      await loadGet(bare.url, {}, 1);
      await loadGet(subjectUrl, auth, 1);
      const anchor: number[] = [];
      const subject: number[] = [];
      for (let round = 0; round < 2; round++) {
        anchor.push(await loadGet(bare.url, {}, opts.seconds));
        subject.push(await loadGet(subjectUrl, auth, opts.seconds));
      }
      const a = Math.max(...anchor);
      const s = Math.max(...subject);
      const figures = { idleRssMb: idleRss, bareRps: a, falajRps: s, ratio: s / a };
      console.log('\nHTTP: authenticated GET /api/v1/projects vs bare node:http (same JSON, same client)');
      console.log(
        table([
          ['server idle RSS', `${idleRss.toFixed(1)} MB`],
          ['bare node:http', `${a.toFixed(0)} req/s`],
          ['falaj (token + RBAC + SQLite)', `${s.toFixed(0)} req/s`],
          ['ratio (goal ≥ 0.4)', `${figures.ratio.toFixed(2)} ${figures.ratio >= 0.4 ? 'met' : 'NOT met'}`],
        ]),
      );
      return figures;
    } finally {
      bare.stop();
    }
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchHttp({ seconds: Number(process.env.FALAJ_BENCH_SECONDS ?? 5) });
}
