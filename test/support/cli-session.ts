// A real server process and the `falaj` CLI logged in to it as the owner, with a project: what
// the end-to-end CLI tests share.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { createSandbox, type Sandbox } from './dialects.js';
import { CLI, type ServerProcess, startServerProcess } from './server-process.js';

/** What `falaj jobs show --json` prints (the fields tests read). */
export interface ShownJob {
  state: string;
  reason: string;
  runId: string;
  executor: string;
  attempt: number;
  [field: string]: unknown;
}

export interface CliSession {
  sb: Sandbox;
  /**
   * A folder outside the server's data directory that jobs may read and write (the server runs
   * with --job-shared-paths on it): files the test and its jobs share (gates, checkpoints).
   */
  readonly scratch: string;
  server: ServerProcess;
  /** The environment the CLI runs with (config file, server URL, project). */
  readonly env: Readonly<Record<string, string>>;
  /** Runs the CLI; never throws. `env` overrides the session's (e.g. another server URL). */
  falaj(
    args: string[],
    input?: string,
    env?: Record<string, string>,
  ): { code: number | null; stdout: string; stderr: string };
  /** Runs the CLI, expects exit code 0, returns stdout. */
  ok(args: string[], input?: string): string;
  /** Polls `falaj jobs show` until the job is in one of `states` (a generous deadline, not a timing assertion). */
  untilJob(id: string, states: string[], seconds?: number): Promise<ShownJob>;
  /** Kills the server (-9), as a crash would. */
  killServer(): Promise<void>;
  /** Starts a new server over the same data; the CLI follows it. */
  startServer(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startCliSession(
  opts: { project?: string; serverArgs?: string[]; serverEnv?: Record<string, string> } = {},
): Promise<CliSession> {
  const sb = await createSandbox('sqlite');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'falaj-scratch-'));
  // Jobs run as another user (falaj-job) where the tests run as root.
  chmodSync(scratch, 0o1777);
  const start = () =>
    startServerProcess({
      dataDir: sb.dataDir,
      args: ['--job-shared-paths', scratch, ...(opts.serverArgs ?? [])],
      ...(opts.serverEnv ? { env: opts.serverEnv } : {}),
    });
  let server = await start();
  const project = opts.project ?? 'ml';
  const env: Record<string, string> = {
    FALAJ_CONFIG: path.join(sb.dataDir, 'cli.json'),
    FALAJ_URL: server.url,
    FALAJ_PROJECT: project,
  };
  const falaj = (args: string[], input = '', overrides: Record<string, string> = {}) => {
    const res = spawnSync(process.execPath, [CLI, ...args], {
      input,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, FALAJ_TOKEN: '', FALAJ_RUN_ID: '', ...env, ...overrides },
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  const ok = (args: string[], input = '') => {
    const r = falaj(args, input);
    expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
    return r.stdout;
  };
  ok(['login', '-u', 'admin'], 'e2e-admin-password\n');
  ok(['projects', 'create', project]);
  const session: CliSession = {
    sb,
    scratch,
    env,
    get server() {
      return server;
    },
    falaj,
    ok,
    async untilJob(id, states, seconds = 60) {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const job = JSON.parse(ok(['jobs', 'show', id, '--json']));
        if (states.includes(job.state)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} (${job.reason})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async killServer() {
      server.kill('SIGKILL');
      await server.exited;
    },
    async startServer() {
      server = await start();
      env.FALAJ_URL = server.url;
    },
    async dispose() {
      server.kill('SIGKILL');
      await server.exited;
      await sb.dispose();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
  return session;
}
