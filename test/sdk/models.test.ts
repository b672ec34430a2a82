// The SDK's registry surface (`falaj.models`) end to end against a real server process: a model
// trained by the server into a run, registered from the run (and from its ONNX file's bytes),
// aliased, evaluated on a dataset version with a sensitive column, proposed for `production`
// by one maintainer, refused to that same maintainer (FALAJ_SELF_APPROVAL), approved by a
// second, after which the alias names the version; a rejection; the model card.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Falaj, FalajApiError, type ModelVersion } from '../../src/index.js';
import { createSandbox, type Sandbox } from '../support/dialects.js';
import { prng } from '../support/prng.js';
import { loginAdmin, type ServerProcess, startServerProcess } from '../support/server-process.js';

const PROJECT = 'models';
const P = `/api/v1/projects/${PROJECT}`;
/** alice registers and evaluates (editor); bob and carol are the two pairs of eyes (maintainers). */
const PEOPLE = { alice: 'editor', bob: 'maintainer', carol: 'maintainer' } as const;
type Person = keyof typeof PEOPLE;

let sb: Sandbox;
let server: ServerProcess;
let admin: string;
const sessions = {} as Record<Person, string>;
let runId: string;

async function api<T>(
  method: string,
  p: string,
  body?: unknown,
  bearer = admin,
  contentType = 'application/json',
): Promise<T> {
  const res = await fetch(server.url + p, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** A client acting as `who`, with a login session, so that each person is a different user. */
function as(who: Person): Falaj {
  return new Falaj({ url: server.url, token: sessions[who], project: PROJECT, env: {}, retries: 0 });
}

/** Loan-like rows: the label leans on x1 and x2; `sex` (F/M) and `region` play no part. */
function loansCsv(rows: number, seed: number, opts: { sex?: boolean } = {}): string {
  const r = prng(seed);
  const withSex = opts.sex ?? true;
  const lines = [['x1', 'x2', ...(withSex ? ['sex'] : []), 'region', 'label'].join(',')];
  for (let i = 0; i < rows; i++) {
    const x1 = r() * 4 - 2;
    const x2 = r() * 4 - 2;
    const sex = r() < 0.5 ? 'F' : 'M';
    const region = r() < 0.5 ? 'north' : 'south';
    const label = r() < 1 / (1 + Math.exp(-(1.5 * x1 + 0.8 * x2))) ? 'yes' : 'no';
    lines.push([x1.toFixed(4), x2.toFixed(4), ...(withSex ? [sex] : []), region, label].join(','));
  }
  return `${lines.join('\n')}\n`;
}

async function dataset(name: string, ...csvs: string[]): Promise<void> {
  await api('POST', `${P}/datasets`, { name });
  for (const csv of csvs)
    await api('POST', `${P}/datasets/${name}/versions?fileName=${name}.csv`, csv, admin, 'text/csv');
}

beforeAll(async () => {
  sb = await createSandbox('sqlite');
  server = await startServerProcess({ dataDir: sb.dataDir });
  admin = await loginAdmin(server.url);
  await api('POST', '/api/v1/projects', { name: PROJECT });
  for (const [who, role] of Object.entries(PEOPLE) as [Person, string][]) {
    await api('POST', '/api/v1/users', { username: who, password: `${who}-password-123` });
    await api('PUT', `${P}/members/${who}`, { role });
    sessions[who] = (
      await api<{ token: string }>('POST', '/api/v1/auth/login', {
        username: who,
        password: `${who}-password-123`,
      })
    ).token;
  }
  await dataset('loans', loansCsv(800, 1));
  // Version 2 of the hold-out lacks the sensitive column.
  await dataset('holdout', loansCsv(600, 2), loansCsv(200, 3, { sex: false }));
  // The server trains into a tracking run, which ends FINISHED with model/ among its artifacts.
  runId = (
    await api<{ runId: string }>(
      'POST',
      `${P}/training`,
      { dataset: 'loans@1', target: 'label', params: { nRounds: 20 }, runName: 'sdk-models' },
      sessions.alice,
    )
  ).runId;
  const falaj = as('alice');
  for (const started = Date.now(); ; ) {
    const run = await falaj.getRun(runId);
    if (run.info.status === 'FINISHED') break;
    if (run.info.status !== 'RUNNING' || Date.now() - started > 120_000)
      throw new Error(`training run ${run.info.status}: ${JSON.stringify(run.data.tags)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 180_000);

afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  await sb?.dispose();
});

describe('falaj.models against a real server', () => {
  let v1: ModelVersion;

  it('registers a version from a run: format, signature, run, and the model created with it', async () => {
    const alice = as('alice');
    const v = await alice.models.register('credit', { runId, description: 'from the run' });
    expect(v).toMatchObject({
      name: 'credit',
      version: 1,
      uri: 'models:/credit/1',
      run_id: runId,
      source: `runs:/${runId}/model`,
      format: 'falaj',
      description: 'from the run',
      user_id: 'alice',
      created_model: true,
    });
    expect(v.signature?.inputs.map((i) => i.name)).toEqual(expect.arrayContaining(['x1', 'x2', 'sex']));
    v1 = v;

    const model = await alice.models.get('credit');
    expect(model).toMatchObject({ name: 'credit', protected_aliases: ['production'], latest_version: 1 });
    expect(model.versions.map((x) => x.version)).toEqual([1]);
    expect((await alice.models.list()).map((m) => m.name)).toEqual(['credit']);
    expect(await alice.models.version('credit@1')).toMatchObject({ version: 1, run_id: runId });
    expect(await alice.models.version('models:/credit/latest')).toMatchObject({ version: 1 });
  });

  it("registers a version from an ONNX file's bytes; a file that is not ONNX stores nothing", async () => {
    const alice = as('alice');
    const res = await fetch(`${server.url}${P}/artifacts/files/runs/${runId}/artifacts/model/model.onnx`, {
      headers: { authorization: `Bearer ${sessions.alice}` },
    });
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const v2 = await alice.models.register('credit', { onnx: bytes, description: 'uploaded' });
    expect(v2).toMatchObject({ version: 2, format: 'onnx', run_id: null, created_model: false });
    expect(v2.signature?.inputs.map((i) => i.name)).toEqual(v1.signature?.inputs.map((i) => i.name));

    const err = await alice.models
      .register('credit', { onnx: new TextEncoder().encode('not a graph') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FalajApiError);
    expect(err).toMatchObject({ errorCode: 'FALAJ_ONNX_INVALID', status: 400 });
    expect((await alice.models.get('credit')).latest_version).toBe(2);
  });

  it('sets an unprotected alias; a protected one is refused, naming the promotion', async () => {
    const alice = as('alice');
    expect(await alice.models.setAlias('credit', 'champion', 2)).toMatchObject({
      alias: 'champion',
      version: 2,
      previous: null,
    });
    expect((await alice.models.version('credit@champion')).version).toBe(2);
    await expect(alice.models.setAlias('credit', 'production', 1)).rejects.toMatchObject({
      errorCode: 'FALAJ_ALIAS_PROTECTED',
      status: 403,
    });
    await expect(alice.models.version('credit@production')).rejects.toMatchObject({
      errorCode: 'FALAJ_ALIAS_NOT_FOUND',
    });
    await expect(alice.models.version('nothing@1')).rejects.toMatchObject({
      errorCode: 'FALAJ_MODEL_NOT_FOUND',
    });
    await expect(alice.models.evaluate('credit@9', { dataset: 'holdout@1' })).rejects.toMatchObject({
      errorCode: 'FALAJ_MODEL_VERSION_NOT_FOUND',
    });
    await expect(alice.models.evaluate('credit@1', {})).rejects.toMatchObject({
      errorCode: 'FALAJ_INVALID_ARGUMENT',
    });
  });

  it('evaluates on a dataset version: metrics, slices, fairness by the sensitive column', async () => {
    const alice = as('alice');
    const e = await alice.models.evaluate('credit@1', {
      dataset: 'holdout@1',
      sensitive: ['sex'],
      slices: ['region'],
    });
    expect(e).toMatchObject({ kind: 'dataset', rowCount: 600, createdBy: 'alice', jobId: null });
    expect(e.dataDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(e.result).toMatchObject({
      data: 'holdout@1',
      task: 'binary',
      target: 'label',
      positiveClass: 'yes',
    });
    expect(e.result.metrics.auc).toBeGreaterThan(0.7);
    expect(e.result.slices?.region?.map((s) => s.value)).toEqual(['north', 'south']);
    const fairness = e.result.fairness?.sex;
    if (!fairness?.report) throw new Error(`no fairness report: ${JSON.stringify(fairness)}`);
    expect(fairness.report.groups.map((g) => g.name)).toEqual(['sex=F', 'sex=M']);
    expect(fairness.report.fairlearn.demographicParityRatio).toBeGreaterThan(0);
    expect(typeof fairness.report.fourFifthsRule.passed).toBe('boolean');
    expect((await alice.models.evaluations(v1)).map((x) => x.id)).toEqual([e.id]);

    // The uploaded graph (Falaj's own ONNX export) evaluates too, given the target.
    const onnx = await alice.models.evaluate('credit@champion', { dataset: 'holdout@1', target: 'label' });
    expect(onnx.result.runtime).toBe('falaj-onnx');
    expect(onnx.result.metrics.auc).toBeCloseTo(e.result.metrics.auc as number, 6);

    // Data lacking the sensitive column: refused, nothing stored.
    const err = await alice.models
      .evaluate('credit@1', { dataset: 'holdout@2', sensitive: ['sex'] })
      .catch((x: unknown) => x);
    expect(err).toMatchObject({ errorCode: 'FALAJ_EVALUATION_DATA_MISMATCH', status: expect.any(Number) });
    expect(await alice.models.evaluations('credit@1')).toHaveLength(1);
  });

  it('promotes with four eyes: self-approval refused, an editor refused, a second maintainer approves', async () => {
    const bob = as('bob');
    const carol = as('carol');
    const { request, gates } = await bob.models.requestPromotion(v1, {
      alias: 'production',
      note: 'first release',
    });
    expect(request).toMatchObject({
      model: 'credit',
      version: 1,
      alias: 'production',
      state: 'pending',
      requestedBy: 'bob',
      note: 'first release',
      gateRunId: gates.id,
    });
    // No gate policy: no checks, the gates pass; four eyes still apply.
    expect(gates).toMatchObject({ passed: true, checks: [] });
    expect((await carol.models.promotions({ state: 'pending' })).map((r) => r.id)).toEqual([request.id]);

    const self = await bob.models.approve(request.id).catch((e: unknown) => e);
    expect(self).toBeInstanceOf(FalajApiError);
    expect(self).toMatchObject({ errorCode: 'FALAJ_SELF_APPROVAL', status: 403 });
    await expect(as('alice').models.approve(request.id)).rejects.toMatchObject({
      errorCode: 'FALAJ_FORBIDDEN',
      status: 403,
    });
    expect(await bob.models.promotion(request.id)).toMatchObject({ state: 'pending' });
    await expect(bob.models.version('credit@production')).rejects.toMatchObject({
      errorCode: 'FALAJ_ALIAS_NOT_FOUND',
    });

    const approved = await carol.models.approve(request.id);
    expect(approved.request).toMatchObject({ id: request.id, state: 'approved', decidedBy: 'carol' });
    expect(approved.gates.passed).toBe(true);
    expect(await bob.models.version('credit@production')).toMatchObject({
      version: 1,
      aliases: ['production'],
    });
    expect((await bob.models.get('credit')).aliases).toEqual({ champion: 2, production: 1 });
    await expect(carol.models.approve(request.id)).rejects.toMatchObject({
      errorCode: 'FALAJ_PROMOTION_NOT_PENDING',
      status: 409,
    });
  });

  it('rejects a request with a reason; the alias stays', async () => {
    const bob = as('bob');
    const carol = as('carol');
    const { request } = await bob.models.requestPromotion('credit@2', { alias: 'production' });
    const rejected = await carol.models.reject(request.id, 'not evaluated with fairness');
    expect(rejected).toMatchObject({
      state: 'rejected',
      decidedBy: 'carol',
      decisionReason: 'not evaluated with fairness',
    });
    expect((await bob.models.version('credit@production')).version).toBe(1);
    expect((await bob.models.promotions({ model: 'credit' })).map((r) => r.state)).toEqual([
      'rejected',
      'approved',
    ]);
  });

  it('reads the model card as JSON and as Markdown', async () => {
    const alice = as('alice');
    const card = await alice.models.card('credit@production');
    expect(card.card).toBe('falaj-model-card/1');
    expect(card.model).toMatchObject({ name: 'credit', version: 1, runId, aliases: ['production'] });
    expect(card.evaluations).toHaveLength(1);
    expect(card.fairness.map((f) => f.column)).toEqual(['sex']);
    expect(card.promotions.map((p) => [p.state, p.requestedBy, p.decidedBy])).toEqual([
      ['approved', 'bob', 'carol'],
    ]);
    const md = await alice.models.card('credit@1', 'md');
    expect(md).toMatch(/^# /);
    expect(md).toContain('credit');
    expect(md).toContain('carol');
  });
});
