// `falaj serve` replicas against a real server process, on both dialects: a model trained,
// registered and deployed with placement 'replicas'; one replica started as a job (the local
// executor, in its sandbox) and one as a plain process. Requests through the server keep being
// answered while the job's replica is killed with -9; the server marks it not ready; a replica
// checks callers' tokens itself; its request log reaches the server's; SIGTERM takes it out.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, DIALECTS, type Sandbox } from '../../support/dialects.js';
import { CLI, loginAdmin, type ServerProcess, startServerProcess } from '../../support/server-process.js';
import { v2Body } from '../helpers.js';

const P = '/api/v1/projects/alpha';

interface ReplicaView {
  id: string;
  url: string;
  ready: boolean;
  reason: string;
}

function loansCsv(rows: number): string {
  let s = 1;
  const r = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const lines = ['x1,x2,group,region,label'];
  for (let i = 0; i < rows; i++) {
    const x1 = r() * 4 - 2;
    const x2 = r() * 4 - 2;
    const label = r() < 1 / (1 + Math.exp(-(1.5 * x1 + 0.8 * x2))) ? 'yes' : 'no';
    lines.push(
      `${x1.toFixed(4)},${x2.toFixed(4)},${r() < 0.5 ? 'A' : 'B'},${r() < 0.5 ? 'north' : 'south'},${label}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const ROWS: [number, number, string, string][] = [
  [0.5, -1.2, 'A', 'north'],
  [-1.5, 0.3, 'B', 'south'],
];

/** The pid (as this machine sees it) of the process whose argv holds `marker`. */
function pidWith(marker: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      // The node process itself (not the sandbox's bwrap or shell, whose argv also holds it).
      if (argv[0] === process.execPath && argv[1] === CLI && argv[2] === 'serve' && argv.includes(marker))
        return Number(d);
    } catch {
      // gone
    }
  }
  return undefined;
}

describe.each(DIALECTS)('falaj serve replicas (%s)', (dialect) => {
  let sb: Sandbox;
  let server: ServerProcess;
  let admin = '';
  let plain: ChildProcess | undefined;
  let plainUrl = '';
  const jobReplica = `job-${randomUUID().slice(0, 8)}`;
  const plainReplica = `plain-${randomUUID().slice(0, 8)}`;
  let jobId = '';
  let plainErr = '';

  const api = async (method: string, url: string, body?: unknown, token: string | null = admin) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'x-falaj-project': 'alpha',
        ...(typeof body === 'string'
          ? { 'content-type': 'text/csv' }
          : body
            ? { 'content-type': 'application/json' }
            : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  const replicas = async (): Promise<ReplicaView[]> =>
    (await api('GET', `${P}/deployments/credit`)).json().replicas;
  const until = async <T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${server.output().slice(-3000)}`);
      await sleep(200);
    }
  };
  const infer = (base: string, token: string | null, requestId?: string) =>
    fetch(`${base}/serving/alpha/credit/v2/models/credit/infer`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: JSON.stringify(v2Body(ROWS)),
    });

  beforeAll(async () => {
    sb = await createSandbox(dialect);
    server = await startServerProcess({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    admin = await loginAdmin(server.url);
    expect((await api('POST', '/api/v1/projects', { name: 'alpha' })).status).toBe(201);
    expect((await api('POST', `${P}/datasets`, { name: 'loans' })).status).toBe(201);
    const up = await api('POST', `${P}/datasets/loans/versions?fileName=loans.csv`, loansCsv(300));
    expect(up.status, up.text).toBeLessThan(300);
    const train = await api('POST', `${P}/training`, {
      dataset: 'loans@1',
      target: 'label',
      params: { nRounds: 10 },
    });
    expect(train.status, train.text).toBe(202);
    const runId = train.json().runId as string;
    await until(
      'training',
      async () => {
        const run = (await api('GET', `/api/2.0/mlflow/runs/get?run_id=${runId}`)).json().run;
        if (run.info.status === 'FAILED') throw new Error(JSON.stringify(run.data));
        return run.info.status === 'FINISHED' ? true : undefined;
      },
      60_000,
    );
    const reg = await api('POST', `${P}/models/credit/versions`, { run_id: runId });
    expect(reg.status, reg.text).toBe(201);
    const dep = await api('POST', `${P}/deployments`, {
      name: 'credit',
      model: 'credit@1',
      placement: 'replicas',
    });
    expect(dep.status, dep.text).toBe(201);

    // Replica 1: a long-running job on the local executor (sandboxed), given FALAJ_URL and
    // FALAJ_PROJECT by the scheduler. Its own FALAJ_TOKEN may change only its run: the replica's
    // token (a project token of role maintainer: replicas take a deployment's traffic) comes
    // from a project secret as FALAJ_SERVE_TOKEN.
    const minted = await api('POST', `${P}/tokens`, { name: 'serve', role: 'maintainer' });
    expect(minted.status, minted.text).toBe(201);
    const secret = await api('PUT', `${P}/secrets/serve-token`, { value: minted.json().token });
    expect(secret.status, secret.text).toBeLessThan(300);
    const job = await api('POST', `${P}/jobs`, {
      spec: {
        secrets: { FALAJ_SERVE_TOKEN: 'serve-token' },
        command: [
          process.execPath,
          CLI,
          'serve',
          '--deployments',
          'credit',
          '--port',
          '0',
          '--replica-id',
          jobReplica,
        ],
        resources: { cpu: 0.5 },
      },
    });
    expect(job.status, job.text).toBe(201);
    jobId = job.json().id;
    // Replica 2: a plain process with the admin's session.
    plain = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--url',
        server.url,
        '--project',
        'alpha',
        '--deployments',
        'credit',
        '--port',
        '0',
        '--replica-id',
        plainReplica,
      ],
      { env: { ...process.env, FALAJ_TOKEN: admin }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    plain.stderr!.on('data', (d: Buffer) => {
      plainErr += d.toString();
    });
    plainUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: plain!.stdout! }).on('line', (line) => {
        if (line.includes('falaj serve listening')) resolve(JSON.parse(line).url);
      });
      plain!.on('exit', (code) => reject(new Error(`falaj serve exited ${code}: ${plainErr}`)));
    });
    await until(
      'both replicas ready',
      async () => {
        const rs = await replicas();
        return rs.filter((r) => r.ready).length === 2 ? rs : undefined;
      },
      30_000,
    ).catch(async (err) => {
      const logs = (await api('GET', `${P}/jobs/${jobId}/logs`)).text;
      throw new Error(`${(err as Error).message}\njob log:\n${logs}\nplain:\n${plainErr}`);
    });
    // And the server routes to them.
    expect((await infer(server.url, admin)).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    plain?.kill('SIGKILL');
    if (jobId) await api('POST', `${P}/jobs/${jobId}/cancel`).catch(() => {});
    server?.kill('SIGKILL');
    await server?.exited;
    await sb?.dispose();
  });

  it('a replica answers callers with a token and refuses those without (401)', async () => {
    const ok = await infer(plainUrl, admin);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { model_name: string; outputs: { data: unknown[] }[] };
    expect(body.model_name).toBe('credit');
    expect(body.outputs[0]!.data).toHaveLength(2);
    expect((await infer(plainUrl, null)).status).toBe(401);
    const bad = await infer(plainUrl, 'not-a-token');
    expect(bad.status).toBe(401);
    expect(await bad.json()).toHaveProperty('error');
    // The key servers send with forwarded requests is the replica's own: a guessed one is no way in.
    const guessed = await fetch(`${plainUrl}/serving/alpha/credit/v2/models/credit/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-falaj-replica-key': 'a'.repeat(43) },
      body: JSON.stringify(v2Body(ROWS)),
    });
    expect(guessed.status).toBe(401);
    // The replica list shows no keys.
    for (const r of await replicas()) expect(JSON.stringify(r)).not.toMatch(/key/i);
    expect((await fetch(`${plainUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${plainUrl}/healthz`)).status).toBe(200);
  });

  it('kill -9 of the job replica: no failed request, it is marked not ready, the other answers', async () => {
    const rs = await replicas();
    expect(rs.map((r) => r.id).sort()).toEqual([jobReplica, plainReplica].sort());
    const jobUrl = rs.find((r) => r.id === jobReplica)!.url;
    expect((await infer(jobUrl, admin)).status).toBe(200);

    const pid = pidWith(jobReplica);
    expect(pid, 'the job replica process').toBeDefined();
    let sent = 0;
    const failed: string[] = [];
    const afterKill: string[] = [];
    let killedAt = 0;
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const id = `rq-${c}-${i}`;
        sent++;
        const t = Date.now();
        try {
          const res = await infer(server.url, admin, id);
          const text = await res.text();
          if (res.status !== 200) failed.push(`${t - killedAt} ${res.status} ${text}`);
          else if (killedAt && t > killedAt + 500) afterKill.push(id);
        } catch (err) {
          failed.push(String(err));
        }
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await sleep(1500);
    process.kill(pid!, 'SIGKILL');
    killedAt = Date.now();
    const notReadyWithin = await until(
      'the killed replica marked not ready',
      async () => {
        const r = (await replicas()).find((x) => x.id === jobReplica);
        return !r?.ready ? Date.now() - killedAt : undefined;
      },
      8000,
    );
    await sleep(2000);
    stop = true;
    await Promise.all(clients);
    console.log(
      `${dialect}: ${sent} requests sent, ${failed.length} failed, ${afterKill.length} answered after the kill; not ready after ${notReadyWithin} ms`,
    );
    const why = server
      .output()
      .split('\n')
      .filter((l) => /serving: |replicas\/plain/.test(l))
      .slice(-40)
      .join('\n');
    expect(failed.slice(0, 5), `${failed.length} failed\n${why}`).toEqual([]);
    expect(notReadyWithin).toBeLessThan(6000);
    expect(afterKill.length).toBeGreaterThan(10);
    const killed = (await replicas()).find((x) => x.id === jobReplica);
    if (killed) expect(killed.ready).toBe(false);

    // What the surviving replica answered reaches the server's request log.
    const want = new Set(afterKill);
    let lastSeen = '';
    await until(
      'request-log rows from the replica',
      async () => {
        const res = await api('GET', `${P}/deployments/credit/requests?limit=10000`);
        if (res.status !== 200) return undefined;
        const rows = res.json().requests as { request_id: string }[];
        const got = new Set(rows.map((r) => r.request_id));
        lastSeen = `${rows.length} rows, e.g. ${JSON.stringify(rows[0])}; missing ${[...want].filter((id) => !got.has(id)).slice(0, 5)}`;
        return [...want].every((id) => got.has(id)) ? true : undefined;
      },
      15_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${lastSeen}\nreplica:\n${plainErr.slice(-3000)}`);
    });
  }, 40_000);

  it('SIGTERM: the replica leaves the list before it exits', async () => {
    const exited = new Promise((r) => plain!.on('exit', r));
    plain!.kill('SIGTERM');
    expect(await exited, plainErr).toBe(0);
    console.log(
      plainErr
        .split('\n')
        .filter((l) => l.includes('serve: stopped'))
        .join('\n'),
    );
    const rs = await replicas();
    expect(rs.find((r) => r.id === plainReplica)).toBeUndefined();
    // No ready replica left: 503 in the protocol's shape.
    const res = await infer(server.url, admin);
    expect(res.status).toBe(503);
    expect(await res.json()).toHaveProperty('error');
  }, 20_000);
});
