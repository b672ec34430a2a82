// The TypeScript SDK end to end: a real server process, the SDK over real HTTP. Batching is
// observed through the SDK's `fetch` option (a wrapper that records each request), and what
// arrived is read back through the server's own answers.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Falaj, FalajApiError, type Run } from '../../src/index.js';
import { createSandbox, type Sandbox } from '../support/dialects.js';
import { loginAdmin, ROOT, type ServerProcess, startServerProcess } from '../support/server-process.js';

const PROJECT = 'sdk';
let sb: Sandbox;
let server: ServerProcess;
let session: string;
let token: string;

interface Sent {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  status: number;
}

/** A fetch that records what the SDK sent (JSON bodies only) and how the server answered. */
function recordingFetch(): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const body =
      typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    sent.push({
      method: init?.method ?? 'GET',
      path: new URL(String(input)).pathname,
      body,
      status: res.status,
    });
    return res;
  };
  return { fetch: wrapped, sent };
}

const batches = (sent: Sent[]) => sent.filter((s) => s.path.endsWith('/runs/log-batch'));
const count = (b: Sent, kind: 'metrics' | 'params' | 'tags') =>
  (b.body?.[kind] as unknown[] | undefined)?.length ?? 0;

async function api<T>(method: string, p: string, body?: unknown, bearer = session): Promise<T> {
  const res = await fetch(server.url + p, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

function client(extra: ConstructorParameters<typeof Falaj>[0] = {}): Falaj {
  // env: {} so that the test's own environment (FALAJ_RUN_ID, a login file) never leaks in.
  return new Falaj({ url: server.url, token, env: {}, ...extra });
}

beforeAll(async () => {
  sb = await createSandbox('sqlite');
  server = await startServerProcess({ dataDir: sb.dataDir });
  session = await loginAdmin(server.url);
  await api('POST', '/api/v1/projects', { name: PROJECT });
  token = (
    await api<{ token: string }>('POST', `/api/v1/projects/${PROJECT}/tokens`, {
      name: 'sdk',
      role: 'editor',
    })
  ).token;
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  await sb?.dispose();
});

describe('TypeScript SDK against a real server', () => {
  let run: Run;

  it('starts a run in an experiment it creates, logs, ends, and reads it all back', async () => {
    const falaj = client();
    run = await falaj.startRun({ experiment: 'sdk-e2e', name: 'first', tags: { team: 'risk' } });
    expect(run.id).toMatch(/\w/);
    expect(run.attached).toBe(false);
    const exp = await falaj.getExperimentByName('sdk-e2e');
    expect(exp.experiment_id).toBe(run.experimentId);

    run.logParam('depth', 6);
    run.logParams({ eta: 0.1, booster: 'gbtree', early: true });
    for (let step = 0; step < 5; step++)
      run.logMetric('loss', 1 / (step + 1), { step, timestamp: 1000 + step });
    run.logMetrics({ auc: 0.91, f1: 0.8 }, { step: 4 });
    run.logMetric('nan', Number.NaN);
    run.logMetric('inf', Number.POSITIVE_INFINITY);
    run.logMetric('ninf', Number.NEGATIVE_INFINITY, { step: 1 });
    run.setTag('stage', 'dev');
    await run.end();
    expect(run.isEnded).toBe(true);
    expect(run.info.status).toBe('FINISHED');

    const got = await falaj.getRun(run.id);
    expect(got.info).toMatchObject({ run_id: run.id, status: 'FINISHED', run_name: 'first' });
    expect(got.info.end_time).toBeGreaterThan(0);
    const params = Object.fromEntries(got.data.params.map((p) => [p.key, p.value]));
    expect(params).toEqual({ depth: '6', eta: '0.1', booster: 'gbtree', early: 'true' });
    const tags = Object.fromEntries(got.data.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ team: 'risk', stage: 'dev' });
    const latest = Object.fromEntries(got.data.metrics.map((m) => [m.key, m.value]));
    expect(latest).toMatchObject({ loss: 0.2, auc: 0.91, f1: 0.8, inf: Infinity, ninf: -Infinity });
    expect(latest.nan).toBeNaN();

    const history = await falaj.metricHistory(run.id, 'loss');
    expect(history.map((m) => [m.step, m.value, m.timestamp])).toEqual([
      [0, 1, 1000],
      [1, 0.5, 1001],
      [2, 1 / 3, 1002],
      [3, 0.25, 1003],
      [4, 0.2, 1004],
    ]);
    const [nan] = await falaj.metricHistory(run.id, 'nan');
    expect(nan?.value).toBeNaN();
    expect((await falaj.metricHistory(run.id, 'ninf'))[0]).toMatchObject({ value: -Infinity, step: 1 });
  });

  it('searches runs with a filter and an order', async () => {
    const falaj = client();
    const expId = await falaj.getOrCreateExperiment('sdk-search');
    for (const [name, auc] of [
      ['a', 0.7],
      ['b', 0.95],
      ['c', 0.92],
    ] as const) {
      const r = await falaj.startRun({ experimentId: expId, name });
      r.logMetric('auc', auc);
      r.logParam('depth', name === 'a' ? '3' : '6');
      await r.end();
    }
    const page = await falaj.searchRuns({
      experimentIds: [expId],
      filter: "metrics.auc > 0.9 and params.depth = '6'",
      orderBy: ['metrics.auc DESC'],
      maxResults: 10,
    });
    expect(page.runs.map((r) => r.info.run_name)).toEqual(['b', 'c']);
    const first = await falaj.searchRuns({
      experimentIds: [expId],
      maxResults: 2,
      orderBy: ['attributes.run_name ASC'],
    });
    expect(first.runs.map((r) => r.info.run_name)).toEqual(['a', 'b']);
    expect(first.nextPageToken).toBeTruthy();
    const second = await falaj.searchRuns({
      experimentIds: [expId],
      maxResults: 2,
      orderBy: ['attributes.run_name ASC'],
      pageToken: first.nextPageToken!,
    });
    expect(second.runs.map((r) => r.info.run_name)).toEqual(['c']);
  });

  it('sends 2,500 metrics in at least 3 log-batch requests of at most 1,000, all of which arrive', async () => {
    const rec = recordingFetch();
    const falaj = client({ fetch: rec.fetch, flushIntervalMs: 60_000 });
    const r = await falaj.startRun({ experiment: 'sdk-batching' });
    for (let step = 0; step < 2500; step++) r.logMetric('x', step * 0.5, { step });
    await r.flush();
    const sent = batches(rec.sent);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.every((b) => count(b, 'metrics') <= 1000 && b.status === 200)).toBe(true);
    expect(sent.reduce((n, b) => n + count(b, 'metrics'), 0)).toBe(2500);
    const history = await falaj.metricHistory(r.id, 'x');
    expect(history).toHaveLength(2500);
    expect(history.map((m) => m.step)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(history[2499]?.value).toBe(1249.5);
    await r.end();
  });

  it('splits 250 params into batches of at most 100 (and tags likewise)', async () => {
    const rec = recordingFetch();
    const falaj = client({ fetch: rec.fetch, flushIntervalMs: 60_000 });
    const r = await falaj.startRun({ experiment: 'sdk-batching' });
    for (let i = 0; i < 250; i++) r.logParam(`p${i}`, i);
    for (let i = 0; i < 150; i++) r.setTag(`t${i}`, `v${i}`);
    await r.end();
    const sent = batches(rec.sent);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.every((b) => count(b, 'params') <= 100 && count(b, 'tags') <= 100)).toBe(true);
    expect(sent.reduce((n, b) => n + count(b, 'params'), 0)).toBe(250);
    const got = await falaj.getRun(r.id);
    expect(got.data.params).toHaveLength(250);
    expect(got.data.tags.filter((t) => t.key.startsWith('t'))).toHaveLength(150);
  });

  it('keeps everything in the buffer until end() when the timer is far off, then sends it', async () => {
    const rec = recordingFetch();
    const falaj = client({ fetch: rec.fetch, flushIntervalMs: 60_000 });
    const r = await falaj.startRun({ experiment: 'sdk-flush' });
    r.logParam('a', 1);
    r.logMetric('m', 1, { step: 1 });
    r.setTag('t', 'x');
    await new Promise((res) => setTimeout(res, 100));
    expect(batches(rec.sent)).toHaveLength(0);
    expect(r.pending).toBe(true);
    await r.end();
    expect(batches(rec.sent)).toHaveLength(1);
    const paths = rec.sent.map((s) => s.path.split('/').slice(-2).join('/'));
    expect(paths.indexOf('runs/log-batch')).toBeLessThan(paths.indexOf('runs/update'));
    const got = await falaj.getRun(r.id);
    expect(got.data.params).toEqual([{ key: 'a', value: '1' }]);
    expect(got.info.status).toBe('FINISHED');
  });

  it('flushes in the background on its timer', async () => {
    const rec = recordingFetch();
    const falaj = client({ fetch: rec.fetch, flushIntervalMs: 50 });
    const r = await falaj.startRun({ experiment: 'sdk-flush' });
    r.logMetric('m', 2);
    const deadline = Date.now() + 5000;
    while (batches(rec.sent).length === 0 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    expect(batches(rec.sent)).toHaveLength(1);
    expect(r.pending).toBe(false);
    await r.end('KILLED');
    expect((await falaj.getRun(r.id)).info.status).toBe('KILLED');
  });

  it('makes nested runs with mlflow.parentRunId', async () => {
    const falaj = client({ env: { FALAJ_RUN_ID: 'ignored-for-nested-runs' } });
    const parent = await falaj.startRun({ experiment: 'sdk-nested', runId: null });
    const child = await falaj.startRun({ experimentId: parent.experimentId, parentRunId: parent.id });
    await child.end();
    await parent.end();
    const got = await falaj.getRun(child.id);
    expect(got.data.tags).toContainEqual({ key: 'mlflow.parentRunId', value: parent.id });
  });

  it('attaches to FALAJ_RUN_ID in process', async () => {
    const created = await client().startRun({ experiment: 'sdk-attach' });
    const falaj = client({ env: { FALAJ_RUN_ID: created.id } });
    const r = await falaj.startRun({ experiment: 'whatever', tags: { launched: 'yes' } });
    expect(r.id).toBe(created.id);
    expect(r.attached).toBe(true);
    r.logMetric('m', 3);
    await r.flush();
    const got = await falaj.getRun(created.id);
    expect(got.data.metrics).toEqual([expect.objectContaining({ key: 'm', value: 3 })]);
    expect(got.data.tags).toContainEqual({ key: 'launched', value: 'yes' });
    await created.end();
  });

  it('a script started with FALAJ_URL/FALAJ_TOKEN/FALAJ_RUN_ID logs to its run and is flushed at exit', async () => {
    const falaj = client();
    const created = await falaj.startRun({ experiment: 'sdk-attach', name: 'launched' });
    const script = `
      import { Falaj } from ${JSON.stringify(path.join(ROOT, 'dist/index.js'))};
      const run = await new Falaj().startRun();
      run.logParams({ lr: 0.01, epochs: 3 });
      for (let step = 0; step < 30; step++) run.logMetric('loss', 1 / (step + 1), { step });
      run.logMetric('bad', NaN, { step: 7 });
      run.setTag('phase', 'train');
      // No flush, no end: the beforeExit hook sends it all.
    `;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FALAJ_URL: server.url,
      FALAJ_TOKEN: token,
      FALAJ_RUN_ID: created.id,
    };
    delete env.FALAJ_PROJECT;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code, stderr).toBe(0);
    const got = await falaj.getRun(created.id);
    expect(Object.fromEntries(got.data.params.map((p) => [p.key, p.value]))).toEqual({
      lr: '0.01',
      epochs: '3',
    });
    expect(got.data.tags).toContainEqual({ key: 'phase', value: 'train' });
    // Attached: the launcher, not the script, ends the run.
    expect(got.info.status).toBe('RUNNING');
    const loss = await falaj.metricHistory(created.id, 'loss');
    expect(loss.map((m) => m.step)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const [bad] = await falaj.metricHistory(created.id, 'bad');
    expect(bad?.value).toBeNaN();
    expect(bad?.step).toBe(7);
    await created.end();
  });

  it('a script that starts its own run and never ends it gets it ended FINISHED at exit', async () => {
    const script = `
      import { Falaj } from ${JSON.stringify(path.join(ROOT, 'dist/index.js'))};
      const run = await new Falaj().startRun({ experiment: 'sdk-own' });
      console.log(run.id);
      for (let step = 0; step < 1500; step++) run.logMetric('loss', 1 / (step + 1), { step });
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, FALAJ_URL: server.url, FALAJ_TOKEN: token };
    delete env.FALAJ_PROJECT;
    delete env.FALAJ_RUN_ID;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code, stderr).toBe(0);
    const falaj = client();
    const got = await falaj.getRun(stdout.trim());
    expect(got.info.status).toBe('FINISHED');
    expect(await falaj.metricHistory(got.info.run_id, 'loss')).toHaveLength(1500);
  });

  it('streams a multi-MB artifact to runs/<id>/artifacts/ with the same digest', async () => {
    const rec = recordingFetch();
    const falaj = client({ fetch: rec.fetch });
    const r = await falaj.startRun({ experiment: 'sdk-artifacts' });
    const file = path.join(sb.dataDir, 'weights.bin');
    const content = randomBytes(12 * 1024 * 1024 + 17);
    writeFileSync(file, content);
    const local = createHash('sha256').update(content).digest('hex');

    const up = await r.logArtifact(file, 'model');
    expect(up.path).toBe(`runs/${r.id}/artifacts/model/weights.bin`);
    expect(up.size).toBe(content.length);
    // The body went as a stream, not as a string the SDK built in memory.
    const put = rec.sent.find((s) => s.method === 'PUT');
    expect(put?.body).toBeUndefined();

    const res = await fetch(`${server.url}/api/v1/projects/${PROJECT}/artifacts/files/${up.path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const downloaded = createHash('sha256')
      .update(Buffer.from(await res.arrayBuffer()))
      .digest('hex');
    expect(downloaded).toBe(local);
    expect(res.headers.get('x-falaj-digest')).toBe(up.digest);

    writeFileSync(path.join(sb.dataDir, 'notes.txt'), 'hello');
    await r.logArtifact(path.join(sb.dataDir, 'notes.txt'));
    const listed = await r.listArtifacts();
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'model', is_dir: true }),
        expect.objectContaining({ path: 'notes.txt', is_dir: false, file_size: 5 }),
      ]),
    );
    expect(await r.listArtifacts('model')).toEqual([
      expect.objectContaining({ path: 'model/weights.bin', is_dir: false, file_size: content.length }),
    ]);
    await r.end();
  });

  it('works with a session token and an explicit project (X-Falaj-Project)', async () => {
    const falaj = new Falaj({ url: server.url, token: session, project: PROJECT, env: {} });
    const r = await falaj.startRun({ experiment: 'sdk-session' });
    r.logMetric('m', 1);
    await r.end();
    expect((await falaj.getRun(r.id)).data.metrics).toHaveLength(1);
    const noProject = new Falaj({ url: server.url, token: session, env: {} });
    await expect(noProject.getRun(r.id)).rejects.toMatchObject({
      errorCode: 'PERMISSION_DENIED',
      status: 403,
    });
    // The same project from the environment.
    const fromEnv = new Falaj({
      env: { FALAJ_URL: server.url, FALAJ_TOKEN: session, FALAJ_PROJECT: PROJECT },
    });
    expect((await fromEnv.getRun(r.id)).info.run_id).toBe(r.id);
  });

  it('surfaces MLflow error codes', async () => {
    const falaj = client();
    const missing = await falaj.getRun('0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FalajApiError);
    expect(missing).toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST', status: 404 });

    const r = await falaj.startRun({ experiment: 'sdk-errors' });
    r.logParam('lr', 0.1);
    // Caught in the client at once: a different value would fail the whole batch on the server.
    expect(() => r.logParam('lr', 0.2)).toThrow(
      expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }),
    );
    expect(() => r.logMetric('x', 'a' as unknown as number)).toThrow(
      expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }),
    );
    await r.flush();
    // Another client (no local memory of the param) is refused by the server; flush() says so.
    const errors: unknown[] = [];
    const other = client({ onError: (e) => errors.push(e) }).resumeRun(r.info);
    other.logParam('lr', 0.3);
    other.logMetric('lost-with-its-batch', 1);
    await expect(other.flush()).rejects.toMatchObject({ errorCode: 'INVALID_PARAMETER_VALUE', status: 400 });
    expect(errors).toHaveLength(1);
    await other.flush(); // the error is reported once
    const got = await falaj.getRun(r.id);
    expect(got.data.params).toEqual([{ key: 'lr', value: '0.1' }]);
    expect(got.data.metrics).toEqual([]); // the batch was all or nothing

    await expect(
      falaj.searchRuns({ experimentIds: [r.experimentId], filter: 'metrics.auc >' }),
    ).rejects.toMatchObject({ errorCode: 'INVALID_PARAMETER_VALUE', status: 400 });
    await expect(client({ token: 'falaj_not-a-token' }).getRun(r.id)).rejects.toMatchObject({
      errorCode: 'UNAUTHENTICATED',
      status: 401,
    });
    await expect(client({ url: 'http://127.0.0.1:1', retries: 0 }).getRun(r.id)).rejects.toMatchObject({
      errorCode: 'FALAJ_UNREACHABLE',
      status: 0,
    });
    await r.end();
    expect(() => r.logMetric('late', 1)).toThrow(FalajApiError);
  });
});
