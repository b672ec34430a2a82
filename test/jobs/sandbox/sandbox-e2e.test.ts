// The reproducer against a real server process (the local executor, its sandbox on as
// by default), on both dialects: an editor, and an admin of the project, submit jobs that go for
// the keyring, the signing key, the database, the checkpoints, the server's environment and
// process. Every try fails and the server stays healthy; the job's own code snapshot, secret
// and run token still work, and it still logs a metric to its run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, DIALECTS, type Sandbox } from '../../support/dialects.js';
import { type ServerProcess, startServerProcess } from '../../support/server-process.js';

const PROBE = `try() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "$n=LEAK"; else echo "$n=blocked"; fi; }
try keyring cat "$D/keys/keyring.json"
try signing cat "$D/keys/audit-signing.key"
try database ls "$D/falaj.db" "$D/falaj.db-wal"
try checkpoints cat "$D/audit/checkpoints.jsonl"
try environ cat "/proc/$SPID/environ"
try write-keys sh -c 'echo x > "$D/keys/evil"'
try write-audit sh -c 'echo x >> "$D/audit/checkpoints.jsonl"'
try kill-server kill -TERM "$SPID"
echo "master-key=\${FALAJ_MASTER_KEY:-unset} db-url=\${FALAJ_DATABASE_URL:-unset}"
echo "secret=$API_KEY"
echo "code=$(cat note.txt)"
echo written > out.txt && echo "own=$(cat out.txt)"
node log-metric.mjs
`;

const LOG_METRIC = `const r = await fetch(process.env.FALAJ_URL + '/api/2.0/mlflow/runs/log-metric', {
  method: 'POST',
  headers: { authorization: 'Bearer ' + process.env.FALAJ_TOKEN, 'content-type': 'application/json' },
  body: JSON.stringify({ run_id: process.env.FALAJ_RUN_ID, key: 'sandboxed', value: 1, timestamp: Date.now(), step: 0 }),
});
console.log('metric=' + r.status);`;

describe.each(DIALECTS)('jobs cannot reach the platform (%s)', (dialect) => {
  let sb: Sandbox;
  let server: ServerProcess;
  let admin = '';
  const api = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        // MLflow's URLs carry no project: a session names it.
        'x-falaj-project': 'alpha',
        ...(body instanceof Uint8Array
          ? { 'content-type': 'application/x-tar' }
          : body !== undefined
            ? { 'content-type': 'application/json' }
            : {}),
      },
      ...(body !== undefined ? { body: body instanceof Uint8Array ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  const login = async (username: string, password: string) => {
    const res = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return ((await res.json()) as { token: string }).token;
  };
  const member = async (username: string, role: string) => {
    expect(
      (await api('POST', '/api/v1/users', admin, { username, password: `${username}-password-1` })).status,
    ).toBe(201);
    expect(
      (await api('PUT', `/api/v1/projects/alpha/members/${username}`, admin, { role })).status,
    ).toBeLessThan(300);
    return login(username, `${username}-password-1`);
  };
  const runJob = async (token: string, spec: unknown) => {
    const sub = await api('POST', '/api/v1/projects/alpha/jobs', token, { spec });
    expect(sub.status, sub.text).toBe(201);
    const { id } = sub.json();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = (await api('GET', `/api/v1/projects/alpha/jobs/${id}`, token)).json();
      if (['succeeded', 'failed', 'cancelled'].includes(job.state)) {
        const log = (await api('GET', `/api/v1/projects/alpha/jobs/${id}/logs`, token)).text;
        return { job, log };
      }
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
      await sleep(200);
    }
  };

  beforeAll(async () => {
    sb = await createSandbox(dialect);
    server = await startServerProcess({
      dataDir: sb.dataDir,
      databaseUrl: sb.databaseUrl,
      // Secrets in the server's environment that a job must never see.
      env: { FALAJ_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') },
    });
    admin = await login('admin', 'e2e-admin-password');
    expect((await api('POST', '/api/v1/projects', admin, { name: 'alpha' })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    server?.kill('SIGKILL');
    await server?.exited;
    await sb?.dispose();
  });

  it('the reproducer prints an error and nothing of the key, for an editor and a project admin', async () => {
    const keyring = readFileSync(path.join(sb.dataDir, 'keys', 'keyring.json'), 'utf8');
    expect(keyring).toMatch(/"keys"/);
    for (const [user, role] of [
      ['eddie', 'editor'],
      ['ada', 'admin'],
    ] as const) {
      const token = await member(user, role);
      const { job, log } = await runJob(token, {
        command: ['head', '-c', '300', path.join(sb.dataDir, 'keys', 'keyring.json')],
      });
      expect(job.state).toBe('failed');
      expect(log).toMatch(/No such file or directory/);
      expect(log).not.toMatch(/"keys"|"key"/);
    }
  });

  it('blocks every try at the platform; its own code, secret, token and run still work', async () => {
    const token = await login('eddie', 'eddie-password-1');
    expect(
      (await api('PUT', '/api/v1/projects/alpha/secrets/api-key', admin, { value: 'the-api-key-value' }))
        .status,
    ).toBeLessThan(300);
    // A code snapshot, packed as `falaj jobs submit --code` does.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-sbx-code-'));
    writeFileSync(path.join(dir, 'probe.sh'), PROBE);
    writeFileSync(path.join(dir, 'log-metric.mjs'), LOG_METRIC);
    writeFileSync(path.join(dir, 'note.txt'), 'from the snapshot\n');
    const tar = path.join(dir, '..', `${path.basename(dir)}.tar`);
    execFileSync('tar', ['-cf', tar, '-C', dir, '.']);
    const put = await api(
      'PUT',
      '/api/v1/projects/alpha/artifacts/files/jobs/code/probe.tar',
      token,
      new Uint8Array(readFileSync(tar)),
    );
    expect(put.status, put.text).toBeLessThan(300);

    const { job, log } = await runJob(token, {
      command: ['sh', 'probe.sh'],
      code: { artifact: 'jobs/code/probe.tar' },
      env: { D: sb.dataDir, SPID: String(server.proc.pid) },
      secrets: { API_KEY: 'api-key' },
    });
    expect(job.state, log).toBe('succeeded');
    expect(log.trim().split('\n')).toEqual([
      'keyring=blocked',
      'signing=blocked',
      'database=blocked',
      'checkpoints=blocked',
      'environ=blocked',
      'write-keys=blocked',
      'write-audit=blocked',
      'kill-server=blocked',
      'master-key=unset db-url=unset',
      'secret=the-api-key-value',
      'code=from the snapshot',
      'own=written',
      'metric=200',
    ]);
    const run = (await api('GET', `/api/2.0/mlflow/runs/get?run_id=${job.runId}`, token)).json().run;
    expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: 'sandboxed', value: 1 }));
    // The server is still there and healthy; nothing landed in its data directory.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(existsSync(path.join(sb.dataDir, 'keys', 'evil'))).toBe(false);
    const checkpoints = path.join(sb.dataDir, 'audit', 'checkpoints.jsonl');
    if (existsSync(checkpoints)) expect(readFileSync(checkpoints, 'utf8')).not.toMatch(/^x$/m);
  });
});

describe('a server that cannot sandbox its jobs', () => {
  it('refuses to start, saying what to install; with --unsafe-unsandboxed-jobs it warns and audits at every start', async () => {
    const sb = await createSandbox('sqlite');
    try {
      // No bubblewrap on this PATH.
      const bare = mkdtempSync(path.join(os.tmpdir(), 'falaj-bare-path-'));
      await expect(startServerProcess({ dataDir: sb.dataDir, env: { PATH: bare } })).rejects.toThrow(
        /FALAJ_CONFIG[\s\S]*bubblewrap[\s\S]*--unsafe-unsandboxed-jobs/,
      );
      for (const start of [1, 2]) {
        const server = await startServerProcess({
          dataDir: sb.dataDir,
          env: { PATH: bare },
          args: ['--unsafe-unsandboxed-jobs'],
        });
        try {
          expect(server.output()).toMatch(/WITHOUT the sandbox/);
          const login = await fetch(`${server.url}/api/v1/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'admin', password: 'e2e-admin-password' }),
          });
          const { token } = (await login.json()) as { token: string };
          const page = (await (
            await fetch(`${server.url}/api/v1/audit?action=server.unsandboxed_jobs`, {
              headers: { authorization: `Bearer ${token}` },
            })
          ).json()) as { events: { action: string }[] };
          expect(page.events.filter((e) => e.action === 'server.unsandboxed_jobs')).toHaveLength(start);
        } finally {
          server.kill('SIGKILL');
          await server.exited;
        }
      }
    } finally {
      await sb.dispose();
    }
  });
});
