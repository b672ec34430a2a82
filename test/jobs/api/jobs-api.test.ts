import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../../src/jobs/job-store.js';
import { JobScheduler } from '../../../src/jobs/loop/job-scheduler.js';
import { jobsRuntime } from '../../../src/jobs/module.js';
import { DIALECTS } from '../../support/dialects.js';
import { setupTracking, type TrackingTest } from '../../tracking/helpers.js';

// Jobs through the API on the local executor: submit, schedule passes, the process runs, its
// state, logs, tracking run and transitions follow. Passes are driven by the test (no timer);
// waiting for a process to end polls with a generous deadline, never a fixed sleep.
const NODE = process.execPath;

describe.each(DIALECTS)('jobs on %s', (dialect) => {
  let x: TrackingTest;
  beforeAll(async () => {
    x = await setupTracking(dialect);
  });
  afterAll(() => x.close());

  const submit = (spec: unknown, token = x.alpha) =>
    x.t.request('POST', '/api/v1/projects/alpha/jobs', { token, body: { spec } });
  const show = async (id: string) =>
    (await x.t.request('GET', `/api/v1/projects/alpha/jobs/${id}`, { token: x.alpha })).json();
  async function until(id: string, states: string[]): Promise<Record<string, unknown> & { state: string }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      await jobsRuntime(x.t.app).scheduler.pass();
      const job = await show(id);
      if (states.includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} (${job.reason})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('runs in code.path when no workdir is given', async () => {
    // A folder the job's sandbox shows (read-only system folders, or --job-paths).
    const dir = '/usr/bin';
    const job = (
      await submit({ command: [NODE, '-e', 'console.log(process.cwd())'], code: { path: dir } })
    ).json();
    expect((await until(job.id, ['succeeded', 'failed'])).state).toBe('succeeded');
    const logs = await x.t.request('GET', `/api/v1/projects/alpha/jobs/${job.id}/logs`, { token: x.alpha });
    expect(logs.body.trim()).toBe(dir);
  });

  it('runs the jobs of a queue with network: none without any network', async () => {
    const server = createServer((socket) => socket.end('hello\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const bad = await x.t.request('PUT', '/api/v1/queues/offline', {
        token: x.t.adminToken,
        body: { network: 'nowhere', projects: [{ project: 'alpha', cpu: { nominal: 4 } }] },
      });
      expect(bad.statusCode).toBe(400);
      const queue = await x.t.request('PUT', '/api/v1/queues/offline', {
        token: x.t.adminToken,
        body: {
          network: 'none',
          projects: [{ project: 'alpha', cpu: { nominal: 4 }, memory: { nominal: 2 ** 34 } }],
        },
      });
      expect(queue.statusCode, queue.body).toBe(200);
      const probe = [
        NODE,
        '-e',
        `require('net').connect(${port}, '127.0.0.1').on('connect', () => console.log('reached')).on('error', () => console.log('no network'))`,
      ];
      const offline = (
        await submit({ command: probe, queue: 'offline', resources: { cpu: 1, memory: '64Mi' } })
      ).json();
      const online = (await submit({ command: probe, resources: { cpu: 1, memory: '64Mi' } })).json();
      for (const [job, expected] of [
        [offline, 'no network'],
        [online, 'reached'],
      ] as const) {
        expect((await until(job.id, ['succeeded', 'failed'])).state).toBe('succeeded');
        const logs = await x.t.request('GET', `/api/v1/projects/alpha/jobs/${job.id}/logs`, {
          token: x.alpha,
        });
        expect(logs.body.trim()).toBe(expected);
      }
    } finally {
      server.close();
    }
  });

  it('refuses a workdir or code.path in the data directory at submit', async () => {
    const dataDir = x.t.svc.config.dataDir;
    for (const spec of [
      { command: ['ls'], code: { path: dataDir } },
      { command: ['ls'], workdir: path.join(dataDir, 'keys') },
    ]) {
      const res = await submit(spec);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT', message: /data directory/ });
    }
  });

  it('runs a command to success: env, logs, transitions and its tracking run', async () => {
    const res = await submit({
      name: 'hello',
      command: [
        NODE,
        '-e',
        "console.log('hi from', process.env.FALAJ_JOB_ID, process.env.FALAJ_RUN_ID ? 'with run' : 'no run'); console.error('to stderr')",
      ],
      resources: { cpu: 0.5, memory: '64Mi' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const job = res.json();
    expect(job).toMatchObject({ state: 'queued', attempt: 1, queue: 'default' });
    const done = await until(job.id, ['succeeded', 'failed']);
    expect(done.state, String(done.reason)).toBe('succeeded');
    expect((done.events as { to: string }[]).map((e) => e.to)).toEqual([
      'queued',
      'admitted',
      'running',
      'succeeded',
    ]);
    const logs = await x.t.request('GET', `/api/v1/projects/alpha/jobs/${job.id}/logs`, { token: x.viewer });
    expect(logs.body).toContain(`hi from ${job.id} with run`);
    expect(logs.body).toContain('to stderr');
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: job.runId } })).json().run;
    expect(run.info.status).toBe('FINISHED');
  });

  it('retries a failing attempt per policy, then fails with the exit code; a missing program fails clearly', async () => {
    const job = (
      await submit({ command: [NODE, '-e', 'process.exit(3)'], retry: { maxAttempts: 2, backoffSeconds: 0 } })
    ).json();
    const failed = await until(job.id, ['failed', 'succeeded']);
    expect(failed).toMatchObject({ state: 'failed', attempt: 2, exitCode: 3 });
    expect((failed.events as { to: string }[]).map((e) => e.to)).toEqual([
      'queued',
      'admitted',
      'running',
      'queued',
      'admitted',
      'running',
      'failed',
    ]);
    const missing = (await submit({ command: ['/nonexistent/program-xyz'] })).json();
    const m = await until(missing.id, ['failed', 'succeeded']);
    expect(m.state).toBe('failed');
    expect(String(m.reason)).toMatch(/program-xyz|ENOENT|not found/i);
  });

  it('cancels a running job (its run KILLED) and a queued one', async () => {
    const job = (await submit({ command: [NODE, '-e', 'setInterval(() => {}, 1000)'] })).json();
    await until(job.id, ['running']);
    const cancel = await x.t.request('POST', `/api/v1/projects/alpha/jobs/${job.id}/cancel`, {
      token: x.alpha,
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const ended = await until(job.id, ['cancelled', 'failed', 'succeeded']);
    expect(ended.state).toBe('cancelled');
    expect((await x.ml('GET', 'runs/get', { query: { run_id: job.runId } })).json().run.info.status).toBe(
      'KILLED',
    );
    const again = await x.t.request('POST', `/api/v1/projects/alpha/jobs/${job.id}/cancel`, {
      token: x.alpha,
    });
    expect(again.json().error.code).toBe('FALAJ_CONFLICT');
  });

  it('fails a job no node can ever fit, with the reason; keeps over-quota jobs queued with one', async () => {
    const huge = (await submit({ command: [NODE, '-e', ''], resources: { cpu: 4096 } })).json();
    const f = await until(huge.id, ['failed']);
    expect(String(f.reason)).toMatch(/^cannot run/);

    const queue = await x.t.request('PUT', '/api/v1/queues/small', {
      token: x.t.adminToken,
      body: {
        projects: [
          { project: 'alpha', cpu: { nominal: 1, borrowingLimit: 0 }, memory: { nominal: 2 ** 34 } },
        ],
      },
    });
    expect(queue.statusCode, queue.body).toBe(200);
    const sleeper = [NODE, '-e', 'setTimeout(() => {}, 60000)'];
    const first = (
      await submit({ command: sleeper, queue: 'small', resources: { cpu: 1, memory: '64Mi' } })
    ).json();
    const second = (
      await submit({ command: sleeper, queue: 'small', resources: { cpu: 1, memory: '64Mi' } })
    ).json();
    // Both were submitted at the same (manual-clock) instant: either may go first.
    const deadline = Date.now() + 30_000;
    let states: { state: string; reason: string }[] = [];
    while (Date.now() < deadline) {
      await jobsRuntime(x.t.app).scheduler.pass();
      states = [await show(first.id), await show(second.id)];
      if (states.some((j) => j.state === 'running')) break;
    }
    const waiting = states.find((j) => j.state === 'queued');
    expect(states.filter((j) => j.state === 'running')).toHaveLength(1);
    expect(String(waiting?.reason)).toMatch(/quota/i);
    for (const id of [first.id, second.id])
      await x.t.request('POST', `/api/v1/projects/alpha/jobs/${id}/cancel`, { token: x.alpha });
    await until(first.id, ['cancelled']);
    await until(second.id, ['cancelled']);
  });

  /**
   * Beta borrows all of alpha's idle quota of queue `shared` with two jobs; returns their ids
   * and the spec of a job of alpha's that needs its quota back.
   */
  async function borrowEverything() {
    const cpus = (await jobsRuntime(x.t.app).scheduler.executor.discover()).reduce((a, n) => a + n.cpu, 0);
    const half = Math.floor(cpus / 2);
    const put = await x.t.request('PUT', '/api/v1/queues/shared', {
      token: x.t.adminToken,
      body: {
        projects: [
          { project: 'alpha', cpu: { nominal: half }, memory: { nominal: 2 ** 36 } },
          { project: 'beta', cpu: { nominal: cpus - half }, memory: { nominal: 2 ** 36 } },
        ],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const sleeper = {
      command: [NODE, '-e', 'setInterval(() => {}, 1000)'],
      queue: 'shared',
      resources: { cpu: half, memory: '64Mi' },
    };
    const borrowers = [];
    for (let i = 0; i < 2; i++) {
      const r = await x.t.request('POST', '/api/v1/projects/beta/jobs', {
        token: x.beta,
        body: { spec: { ...sleeper, resources: { cpu: cpus / 2, memory: '64Mi' } } },
      });
      expect(r.statusCode, r.body).toBe(201);
      borrowers.push(r.json().id as string);
    }
    const showBeta = async (id: string) =>
      (await x.t.request('GET', `/api/v1/projects/beta/jobs/${id}`, { token: x.beta })).json();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      await jobsRuntime(x.t.app).scheduler.pass();
      if ((await Promise.all(borrowers.map(showBeta))).every((j) => j.state === 'running')) break;
    }
    return { borrowers, sleeper, showBeta };
  }

  it('reclaims lent quota by preemption: the borrower is stopped and requeued, the owner runs', async () => {
    const { borrowers, sleeper, showBeta } = await borrowEverything();
    const owner = (await submit(sleeper)).json();
    const running = await until(owner.id, ['running']);
    expect(running.state).toBe('running');
    const victims = (await Promise.all(borrowers.map(showBeta))).filter((j) =>
      (j.events as { to: string }[]).some((e) => e.to === 'preempted'),
    );
    expect(victims).toHaveLength(1);
    const v = victims[0];
    const to = (v.events as { to: string }[]).map((e) => e.to);
    // running → preempted → queued (a new attempt), possibly admitted again since.
    expect(to.slice(to.indexOf('preempted'), to.indexOf('preempted') + 2)).toEqual(['preempted', 'queued']);
    expect(v.attempt).toBe(2);
    expect(
      String((v.events as { to: string; reason: string }[]).find((e) => e.to === 'preempted')?.reason),
    ).toMatch(/reclaim/);
    for (const id of borrowers)
      await x.t.request('POST', `/api/v1/projects/beta/jobs/${id}/cancel`, { token: x.beta });
    await x.t.request('POST', `/api/v1/projects/alpha/jobs/${owner.id}/cancel`, { token: x.alpha });
    await until(owner.id, ['cancelled']);
  });

  it('a server restarted while it preempts a job still requeues that job (not a cancel)', async () => {
    const { borrowers, sleeper, showBeta } = await borrowEverything();
    const owner = (await submit(sleeper)).json();
    const first = jobsRuntime(x.t.app).scheduler;
    const deadline = Date.now() + 30_000;
    let victim: string | undefined;
    while (!victim && Date.now() < deadline) {
      await first.pass();
      for (const id of borrowers) if (/^preempting/.test((await showBeta(id)).reason ?? '')) victim = id;
    }
    expect(victim).toBeDefined();
    // The server goes down here and another scheduler takes over: nothing of the first one's
    // memory survives; what it asked of the victim is in the database.
    const restarted = new JobScheduler(x.t.svc, new JobStore(x.t.svc), {
      executor: first.executor,
      holder: first.holder,
      workRoot: path.join(x.t.svc.config.dataDir, 'jobs'),
      serverUrl: () => undefined,
    });
    while (Date.now() < deadline) {
      await restarted.pass();
      if ((await show(owner.id)).state === 'running') break;
    }
    const v = await showBeta(victim as string);
    const to = (v.events as { to: string }[]).map((e) => e.to);
    expect(to).not.toContain('cancelled');
    expect(to.slice(to.indexOf('preempted'), to.indexOf('preempted') + 2)).toEqual(['preempted', 'queued']);
    expect((await show(owner.id)).state).toBe('running');
    for (const id of borrowers)
      await x.t.request('POST', `/api/v1/projects/beta/jobs/${id}/cancel`, { token: x.beta });
    await x.t.request('POST', `/api/v1/projects/alpha/jobs/${owner.id}/cancel`, { token: x.alpha });
    await until(owner.id, ['cancelled']);
  });

  it('hands a job its project secrets at launch, and stores and lists names only', async () => {
    const put = await x.t.request('PUT', '/api/v1/projects/alpha/secrets/db-password', {
      token: x.alpha,
      body: { value: 'hunter2-xyz' },
    });
    expect(put.json()).toEqual({ name: 'db-password', outcome: 'created' });
    const list = await x.t.request('GET', '/api/v1/projects/alpha/secrets', { token: x.alpha });
    expect(list.json().secrets.map((s: { name: string }) => s.name)).toEqual(['db-password']);
    expect(list.body).not.toContain('hunter2');
    expect((await x.t.request('GET', '/api/v1/projects/alpha/secrets', { token: x.viewer })).statusCode).toBe(
      403,
    );

    const job = (
      await submit({
        command: [NODE, '-e', 'console.log("pw=" + process.env.DB_PASS)'],
        secrets: { DB_PASS: 'db-password' },
      })
    ).json();
    expect((await until(job.id, ['succeeded', 'failed'])).state).toBe('succeeded');
    const logs = await x.t.request('GET', `/api/v1/projects/alpha/jobs/${job.id}/logs`, { token: x.alpha });
    expect(logs.body.trim()).toBe('pw=hunter2-xyz');
    // Nowhere else: not in the job's stored spec, not in the audit chain.
    expect(JSON.stringify(await show(job.id))).not.toContain('hunter2');
    const audit = await x.t.svc.store.db.selectFrom('audit_events').select('details').execute();
    expect(audit.some((a) => String(a.details).includes('hunter2'))).toBe(false);

    const missing = await submit({ command: ['true'], secrets: { X: 'nope' } });
    expect(missing.json().error).toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
      details: { field: 'secrets' },
    });
  });

  it('exposes queued and running demand per queue on /metrics', async () => {
    const job = (
      await submit({ command: [NODE, '-e', ''], resources: { cpu: 1, gpu: 2, gpuType: 'h100' } })
    ).json();
    const metrics = (await x.t.request('GET', '/metrics')).body;
    expect(metrics).toMatch(/falaj_queue_pending_gpus\{queue="default",gpu_type="h100"\} 2/);
    expect(metrics).toMatch(/falaj_queue_pending_jobs\{queue="default"\} [1-9]/);
    await x.t.request('POST', `/api/v1/projects/alpha/jobs/${job.id}/cancel`, { token: x.alpha });
  });

  it('refuses bad specs with the field named, unknown queues, and viewers', async () => {
    const neg = await submit({ command: ['true'], resources: { cpu: -1 } });
    expect(neg.json().error).toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
      details: { field: 'resources.cpu' },
    });
    expect((await submit({ command: [] })).json().error.details.field).toBe('command');
    expect((await submit({ command: ['true'], queue: 'nope' })).json().error.details.field).toBe('queue');
    expect((await submit({ command: ['true'], env: { FALAJ_TOKEN: 'x' } })).json().error.details.field).toBe(
      'env.FALAJ_TOKEN',
    );
    expect((await submit({ command: ['true'] }, x.viewer)).statusCode).toBe(403);
    expect(
      (await submit({ command: ['true'], code: { artifact: 'code.tar' } })).json().error.details.field,
    ).toBe('code');
    const badQueue = await x.t.request('PUT', '/api/v1/queues/q2', {
      token: x.t.adminToken,
      body: { projects: [{ project: 'alpha', cpu: { nominal: -1 } }] },
    });
    expect(badQueue.json().error.code).toBe('FALAJ_INVALID_ARGUMENT');
    expect(
      (await x.t.request('PUT', '/api/v1/queues/q3', { token: x.alpha, body: { projects: [] } })).statusCode,
    ).toBe(403);
  });
});
