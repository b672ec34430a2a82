// Starts the built CLI (`node bin/falaj.js server`) as a real process, for tests of what only a
// real process shows: signals, sockets, TLS, several servers on one database. Needs `npm run build`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'bin/falaj.js');

export function assertBuilt(): void {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js')))
    throw new Error('dist/ missing: run `npm run build` first');
}

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startServerProcess(opts: {
  dataDir: string;
  databaseUrl?: string | undefined;
  args?: string[];
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  assertBuilt();
  const args = [
    CLI,
    'server',
    '--data-dir',
    opts.dataDir,
    '--port',
    '0',
    '--log-level',
    'info',
    ...(opts.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, FALAJ_ADMIN_PASSWORD: 'e2e-admin-password', ...opts.env };
  if (opts.databaseUrl) env.FALAJ_DATABASE_URL = opts.databaseUrl;
  else delete env.FALAJ_DATABASE_URL;
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      out += `${line}\n`;
      if (line.includes('falaj server listening')) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
  return { proc, url, output: () => out, exited, kill: (signal = 'SIGTERM') => proc.kill(signal) };
}

/** Logs in as the bootstrap admin over real HTTP(S). */
export async function loginAdmin(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'e2e-admin-password' }),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
