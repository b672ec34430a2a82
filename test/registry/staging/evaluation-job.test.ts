// Evaluation as a job (`submit: true`): the server checks the request, submits the built-in
// evaluator with a command it builds, and the job — run by the local executor in its sandbox,
// against this server listening — reads its request, downloads the model and the Parquet
// through the API and posts the result. Only the request's own job token may post it, once.
// Needs `npm run build` (the job runs bin/falaj.js).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../src/core/ids.js';
import { API_TOKEN_PREFIX, newSecretToken, sha256Hex } from '../../../src/security/secrets/secrets.js';
import { DIALECTS } from '../../support/dialects.js';
import { assertBuilt, CLI } from '../../support/server-process.js';
import { errorCode, loansCsv, MODELS, P, type StagingTest, setupStaging } from './helpers.js';

const EVAL = `${MODELS}/risk/versions/1/evaluations`;
const REQUESTS = `${P}/evaluation-requests`;

describe.each(DIALECTS)('evaluation as a job on %s', (dialect) => {
  let x: StagingTest;
  let url = '';
  beforeAll(async () => {
    assertBuilt();
    x = await setupStaging(dialect);
    await x.dataset('loans', loansCsv(600, 21, { bias: true }));
    await x.dataset('holdout', loansCsv(400, 22, { bias: true }));
    await x.trainAndRegister('risk', { dataset: 'loans@1', target: 'label' });
    // The job reaches this server at the URL it listens on; the scheduler loop runs the job.
    url = await x.t.app.listen({ port: 0, host: '127.0.0.1' });
    await x.t.app.startModules(url);
  }, 180_000);
  afterAll(async () => x?.close());

  /** A run-scoped token of alice's, as the scheduler mints one for a job's run. */
  async function runToken(runId: string): Promise<string> {
    const db = x.t.svc.store.db;
    const user = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'alice')
      .executeTakeFirstOrThrow();
    const project = await db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'alpha')
      .executeTakeFirstOrThrow();
    const token = newSecretToken(API_TOKEN_PREFIX);
    const now = x.t.svc.clock.now();
    await db
      .insertInto('api_tokens')
      .values({
        id: newId(),
        name: `test:${runId}`,
        token_hash: sha256Hex(token),
        user_id: user.id,
        project_id: project.id,
        role: 'editor',
        created_at: now,
        expires_at: now + 3600_000,
        revoked_at: null,
        last_used_at: null,
        run_id: runId,
      })
      .execute();
    return token;
  }

  async function untilSettled(id: string): Promise<Record<string, unknown> & { state: string }> {
    const deadline = Date.now() + 150_000;
    for (;;) {
      const r = (await x.call('viewer', 'GET', `${REQUESTS}/${id}`)).json();
      if (r.state !== 'pending') return r;
      if (Date.now() > deadline) throw new Error(`request ${id} still pending (job ${r.jobState})`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  const body = { dataset: 'holdout@1', sensitive: ['group'], slices: ['region'] };
  let jobEvaluation: { id: string; result: Record<string, unknown>; jobId: string | null } | undefined;
  let firstRunId = '';

  it('runs in the job and stores what the in-process path stores, with the job id and the server’s digest', async () => {
    const submitted = await x.call('alice', 'POST', EVAL, { ...body, submit: true });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { id, jobId, runId, state } = submitted.json();
    expect(state).toBe('pending');
    firstRunId = runId;
    const job = (await x.call('alice', 'GET', `${P}/jobs/${jobId}`)).json();
    // The server built the command: the built-in evaluator and the request id, nothing of the caller's.
    expect(job.spec.command.slice(-4)).toEqual(['models', 'evaluate-worker', '--request', id]);

    const done = await untilSettled(id);
    if (done.state !== 'done') {
      const logs = await x.call('alice', 'GET', `${P}/jobs/${jobId}/logs`);
      throw new Error(`request ${done.state}: ${String(done.error)}\n${logs.body}`);
    }
    const stored = await x.call('viewer', 'GET', `${EVAL}/${done.evaluationId}`);
    expect(stored.statusCode).toBe(200);
    const e = stored.json();
    const holdout = await x.t.svc.store.db
      .selectFrom('data_versions')
      .select(['id', 'digest'])
      .where('row_count', '=', 400)
      .executeTakeFirstOrThrow();
    expect(e).toMatchObject({
      kind: 'dataset',
      jobId,
      dataVersionId: holdout.id,
      dataDigest: holdout.digest,
      rowCount: 400,
      createdBy: 'alice',
    });
    jobEvaluation = e;

    // The same request in process: the same result, number for number.
    const inProcess = await x.call('alice', 'POST', EVAL, body);
    expect(inProcess.statusCode, inProcess.body).toBe(201);
    expect(inProcess.json().jobId).toBeNull();
    expect(e.result).toEqual(inProcess.json().result);
    expect(e.result.fairness.group.report).not.toBeNull();

    // Lineage and audit as in process, the job named.
    const edges = await x.t.svc.store.db
      .selectFrom('lineage_edges')
      .selectAll()
      .where('relation', '=', 'evaluated')
      .execute();
    expect(edges.some((r) => JSON.parse(r.attrs as string).evaluation === e.id)).toBe(true);
    const audit = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'details', 'actor'])
      .where('action', 'in', ['model.version.evaluate', 'model.version.evaluate.submit'])
      .execute();
    expect(audit.find((a) => String(a.details).includes(e.id))).toMatchObject({
      action: 'model.version.evaluate',
    });
    expect(audit.some((a) => a.action === 'model.version.evaluate.submit')).toBe(true);

    // A result once more, even from the job's own run: refused.
    const again = await x.t.request('POST', `${REQUESTS}/${id}/result`, {
      token: await runToken(runId),
      body: { result: { metrics: { auc: 1 }, rows: 400 }, runtime: 'falaj' },
    });
    expect(again.statusCode, again.body).toBe(409);
  }, 200_000);

  it('accepts a result only from the request’s own job token, once; nothing stored otherwise', async () => {
    expect(jobEvaluation).toBeDefined();
    const submitted = await x.call('alice', 'POST', EVAL, { ...body, submit: true });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { id, jobId, runId } = submitted.json();
    // The evaluator never runs: the request stays pending for the posts below.
    const cancel = await x.call('alice', 'POST', `${P}/jobs/${jobId}/cancel`);
    expect(cancel.statusCode, cancel.body).toBe(200);

    const before = await x.counts();
    const forged = {
      result: { ...(jobEvaluation?.result as object), metrics: { auc: 0.999 }, data: 'forged' },
      runtime: 'falaj',
    };
    const callers: [string, string][] = [
      ['the editor who submitted it', x.as.alice],
      ['a project admin', x.as.dana],
      ['the platform owner', x.t.adminToken],
      ['another job’s token', await runToken(firstRunId)],
    ];
    for (const [who, token] of callers) {
      const res = await x.t.request('POST', `${REQUESTS}/${id}/result`, { token, body: forged });
      expect(res.statusCode, `${who}: ${res.body}`).toBe(403);
      expect(errorCode(res)).toBe('FALAJ_FORBIDDEN');
      expect(res.json().error.details).toMatchObject({ reason: 'not-the-evaluation-job' });
      const fail = await x.t.request('POST', `${REQUESTS}/${id}/failure`, { token, body: { error: 'x' } });
      expect(fail.statusCode, `${who}: ${fail.body}`).toBe(403);
    }
    expect(await x.counts()).toEqual(before);
    const row = await x.t.svc.store.db
      .selectFrom('evaluation_requests')
      .select('state')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.state).toBe('pending');

    // The job's own token: stored, with the server's data label and digest, not the posted 'forged'.
    const own = await runToken(runId);
    const ok = await x.t.request('POST', `${REQUESTS}/${id}/result`, { token: own, body: forged });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({
      jobId,
      dataDigest: (jobEvaluation as unknown as { dataDigest: string }).dataDigest,
    });
    expect(ok.json().result.data).toBe('holdout@1');
    const second = await x.t.request('POST', `${REQUESTS}/${id}/result`, { token: own, body: forged });
    expect(second.statusCode).toBe(409);
    expect(errorCode(second)).toBe('FALAJ_CONFLICT');
    const after = await x.counts();
    expect(after.model_evaluations).toBe(Number(before.model_evaluations) + 1);
    const shown = (await x.call('viewer', 'GET', `${REQUESTS}/${id}`)).json();
    expect(shown).toMatchObject({ state: 'done', evaluationId: ok.json().id, jobId });
  });

  /** The built CLI as alice, in a child process (this process serves the requests meanwhile). */
  function falaj(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], {
        env: {
          ...process.env,
          FALAJ_URL: url,
          FALAJ_TOKEN: x.as.alice,
          FALAJ_PROJECT: 'alpha',
          FALAJ_CONFIG: '/nonexistent/falaj.json',
          FALAJ_RUN_ID: '',
        },
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      p.on('close', (code) => resolve({ code, out, err }));
    });
  }

  it('falaj models evaluate --submit prints the ids; --wait prints the stored evaluation', async () => {
    const submitted = await falaj(
      'models',
      'evaluate',
      'risk@1',
      '--data',
      'holdout@1',
      '--submit',
      '--json',
    );
    expect(submitted.code, submitted.err).toBe(0);
    const ids = JSON.parse(submitted.out);
    expect(ids).toMatchObject({ id: expect.any(String), jobId: expect.any(String), state: 'pending' });
    const waited = await falaj(
      'models',
      'evaluate',
      'risk@1',
      '--data',
      'holdout@1',
      '--sensitive',
      'group',
      '--submit',
      '--wait',
    );
    expect(waited.code, waited.err).toBe(0);
    expect(waited.err).toMatch(/evaluation request [0-9a-f]{32}, job [0-9a-f]{32}: waiting/);
    expect(waited.out).toMatch(/evaluation [0-9a-f]{32} \(dataset\) on holdout@1, 400 rows/);
    expect(waited.out).toMatch(/fairness by group: demographic parity ratio/);
    const shown = await falaj('models', 'evaluation-request', ids.id, '--json');
    expect(shown.code, shown.err).toBe(0);
    expect(['pending', 'done']).toContain(JSON.parse(shown.out).state);
    const noData = await falaj('models', 'evaluate', 'risk@1', '--cv', '--submit');
    expect(noData.code).toBe(1);
    expect(noData.err).toContain('FALAJ_INVALID_ARGUMENT');
  }, 200_000);

  it('a job that cannot evaluate posts its failure: the request fails with the reason, and takes no result after', async () => {
    const submitted = await x.call('alice', 'POST', EVAL, { ...body, submit: true });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { id, jobId, runId } = submitted.json();
    await x.call('alice', 'POST', `${P}/jobs/${jobId}/cancel`);
    const own = await runToken(runId);
    const failed = await x.t.request('POST', `${REQUESTS}/${id}/failure`, {
      token: own,
      body: { error: 'FALAJ_MODEL_INVALID: no model' },
    });
    expect(failed.statusCode, failed.body).toBe(204);
    const shown = (await x.call('viewer', 'GET', `${REQUESTS}/${id}`)).json();
    expect(shown).toMatchObject({
      state: 'failed',
      error: 'FALAJ_MODEL_INVALID: no model',
      evaluationId: null,
    });
    const late = await x.t.request('POST', `${REQUESTS}/${id}/result`, {
      token: own,
      body: { result: { metrics: { auc: 1 }, rows: 400 }, runtime: 'falaj' },
    });
    expect(late.statusCode).toBe(409);
    const other = await x.call('viewer', 'GET', `${P}/evaluation-requests/${'0'.repeat(32)}`);
    expect(other.statusCode).toBe(404);
  });

  it('checks the request before submitting: a missing column or a file is refused, no job', async () => {
    const jobsBefore = (await x.call('alice', 'GET', `${P}/jobs`)).json().jobs.length;
    const missing = await x.call('alice', 'POST', EVAL, {
      dataset: 'holdout@1',
      sensitive: ['nope'],
      submit: true,
    });
    expect(missing.statusCode).toBe(400);
    expect(errorCode(missing)).toBe('FALAJ_EVALUATION_DATA_MISMATCH');
    const file = await x.call('alice', 'POST', EVAL, { file: 'x.csv', submit: true });
    expect(errorCode(file)).toBe('FALAJ_INVALID_ARGUMENT');
    const none = await x.call('alice', 'POST', EVAL, { dataset: 'holdout@9', submit: true });
    expect(errorCode(none)).toBe('FALAJ_NOT_FOUND');
    const viewer = await x.call('viewer', 'POST', EVAL, { ...body, submit: true });
    expect(viewer.statusCode).toBe(403);
    expect((await x.call('alice', 'GET', `${P}/jobs`)).json().jobs.length).toBe(jobsBefore);
  });
});
