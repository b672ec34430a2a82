// Shared pieces of the benchmarks: a real server process, RSS sampling, a keep-alive load loop.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const ADMIN_PASSWORD = 'bench-admin-password';

export interface BenchServer {
  url: string;
  pid: number;
  token: string;
  stop(): Promise<void>;
}

/**
 * Starts `falaj server` (built) on a free port and logs in as admin: on a temp data dir removed
 * on stop, or on `opts.dataDir`, kept (so that a second server can start on it); `opts.nodeArgs`
 * go to node (`--cpu-prof`).
 */
export async function startBenchServer(
  env: Record<string, string> = {},
  opts: { dataDir?: string; nodeArgs?: readonly string[] } = {},
): Promise<BenchServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-'));
  const proc: ChildProcess = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      path.join(ROOT, 'bin/falaj.js'),
      'server',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--log-level',
      'info',
    ],
    {
      env: { ...process.env, FALAJ_ADMIN_PASSWORD: ADMIN_PASSWORD, FALAJ_DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      if (line.includes('falaj server listening')) {
        resolve((JSON.parse(line) as { url: string }).url);
        // From here on the log is noise for a benchmark: drain it.
        rl.removeAllListeners('line');
      }
    });
    proc.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const token = ((await res.json()) as { token: string }).token;
  return {
    url,
    pid: proc.pid!,
    token,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resident set size of a process in MB, from /proc. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/**
 * Sends GET requests over `concurrency` keep-alive connections for `seconds`; returns requests/s.
 * The same loop drives the anchor and the subject, so the client's own cost cancels in the ratio.
 */
export async function loadGet(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  concurrency = 16,
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  let done = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const req = http.get(
          { host: target.hostname, port: target.port, path: target.pathname, headers, agent },
          (res) => {
            if (res.statusCode !== 200) failed++;
            res.resume();
            res.on('end', () => resolve());
          },
        );
        req.on('error', () => {
          failed++;
          resolve();
        });
      });
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  if (failed > 0) throw new Error(`${failed} of ${done} requests failed against ${url}`);
  return done / elapsed;
}

export function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}
