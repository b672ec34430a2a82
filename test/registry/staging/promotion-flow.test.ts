// The staging step end to end, on both dialects: two models trained by the server on data with
// a known bias — one that learned the bias and one that did not — evaluated with fairness,
// judged by a gate policy, and proposed for `production`. The biased one cannot get there (a
// maintainer's approval is refused); the fair one needs a second person (self-approval is
// refused; of two racing approvals exactly one wins); a project admin can override failed
// gates only with a written reason; the card shows why each was allowed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walk } from '../../../src/lineage/lineage-store.js';
import { DIALECTS } from '../../support/dialects.js';
import { errorCode, loansCsv, MODELS, P, type StagingTest, setupStaging } from './helpers.js';

const CREDIT = `${MODELS}/credit`;
const POLICY = `
metrics:
  - auc >= 0.70
  - auc >= champion.auc - 0.02
fairness:
  group:
    - demographic_parity_ratio >= 0.8
    - equalized_odds_difference <= 0.2
    - four_fifths_rule
training_data_validated: true
schema_compatible: true
`;

describe.each(DIALECTS)('staging on %s', (dialect) => {
  let x: StagingTest;
  let biased: number;
  let fair: number;
  let fairRun: string;
  beforeAll(async () => {
    x = await setupStaging(dialect);
    await x.dataset('loans-biased', loansCsv(1500, 1, { bias: true }));
    await x.dataset('loans-fair', loansCsv(1500, 2, { bias: false }));
    // Held-out data drawn the same way as the fair training data: the truth does not depend on
    // the group, so a model that favours group A shows it in its selection rates.
    await x.dataset(
      'holdout',
      loansCsv(1200, 3, { bias: false }),
      loansCsv(300, 4, { bias: false, withGroup: false }),
    );
    biased = (await x.trainAndRegister('credit', { dataset: 'loans-biased@1', target: 'label' })).version;
    const f = await x.trainAndRegister('credit', {
      dataset: 'loans-fair@1',
      target: 'label',
      exclude: ['group', 'region'],
      cv: 3,
    });
    fair = f.version;
    fairRun = f.runId;
  }, 240_000);
  afterAll(async () => x?.close());

  const evaluate = (version: number, body: Record<string, unknown>) => {
    x.t.clock.advance(1000);
    return x.call('alice', 'POST', `${CREDIT}/versions/${version}/evaluations`, body);
  };

  it('evaluates on a dataset version: trainer metrics, slices, fairness per sensitive column, lineage', async () => {
    const res = await evaluate(biased, { dataset: 'holdout@1', sensitive: ['group'], slices: ['region'] });
    expect(res.statusCode, res.body).toBe(201);
    const e = res.json();
    expect(e).toMatchObject({ kind: 'dataset', rowCount: 1200, jobId: null, createdBy: 'alice' });
    expect(e.dataDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(e.result.metrics)).toEqual(
      expect.arrayContaining(['auc', 'logloss', 'accuracy', 'precision', 'recall', 'f1', 'brier', 'prAuc']),
    );
    expect(e.result).toMatchObject({
      task: 'binary',
      target: 'label',
      classes: ['no', 'yes'],
      positiveClass: 'yes',
    });
    expect(e.result.slices.region.map((s: { value: string }) => s.value)).toEqual(['north', 'south']);
    const report = e.result.fairness.group.report;
    expect(report.groups.map((g: { name: string }) => g.name)).toEqual(['group=A', 'group=B']);
    // The biased model selects group A far more often than group B.
    expect(report.fairlearn.demographicParityRatio).toBeLessThan(0.5);
    expect(report.fourFifthsRule.passed).toBe(false);

    const db = x.t.svc.store.db;
    const { id: projectId } = await db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'alpha')
      .executeTakeFirstOrThrow();
    const down = await walk(db, projectId, { kind: 'model_version', id: e.versionId }, 'down', { depth: 1 });
    expect(down).toContainEqual(
      expect.objectContaining({
        relation: 'evaluated',
        to: expect.objectContaining({ kind: 'dataset_version' }),
        attrs: expect.objectContaining({ digest: e.dataDigest, rows: 1200, data: 'holdout@1' }),
      }),
    );
    const listed = await x.call('viewer', 'GET', `${CREDIT}/versions/${biased}/evaluations`);
    expect(listed.json().evaluations.map((v: { id: string }) => v.id)).toEqual([e.id]);
  });

  it('refuses data missing a model input column, with a stable code, storing nothing', async () => {
    const before = await x.counts();
    const res = await evaluate(biased, { dataset: 'holdout@2', sensitive: ['region'] });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('FALAJ_EVALUATION_DATA_MISMATCH');
    expect(res.json().error.details.missingModelInputs).toEqual(['group']);
    const noSensitive = await evaluate(fair, { dataset: 'holdout@1', sensitive: ['gender'] });
    expect(errorCode(noSensitive)).toBe('FALAJ_EVALUATION_DATA_MISMATCH');
    expect((await evaluate(fair, { dataset: 'nope@1' })).statusCode).toBe(404);
    expect(
      (await x.call('viewer', 'POST', `${CREDIT}/versions/${fair}/evaluations`, { dataset: 'holdout@1' }))
        .statusCode,
    ).toBe(403);
    expect(await x.counts()).toEqual(before);
  });

  it('attaches the trainer’s cross-validation once', async () => {
    const cv = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/evaluations/cv`);
    expect(cv.statusCode, cv.body).toBe(201);
    expect(cv.json()).toMatchObject({ kind: 'cv', result: { cv: { k: 3 } } });
    expect(cv.json().result.metrics.auc).toBeGreaterThan(0.7);
    const again = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/evaluations/cv`);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(cv.json().id);
  });

  it('refuses a policy naming a metric that does not exist, and keeps revisions of the rest', async () => {
    const bad = await x.call('bob', 'PUT', `${CREDIT}/gates/policy`, {
      policy: 'metrics: [accuracyy >= 0.9]',
    });
    expect(bad.statusCode).toBe(400);
    expect(errorCode(bad)).toBe('FALAJ_GATE_POLICY_INVALID');
    expect(bad.json().error.details.known).toContain('accuracy');
    expect((await x.call('alice', 'PUT', `${CREDIT}/gates/policy`, { policy: POLICY })).statusCode).toBe(403);
    const first = await x.call('bob', 'PUT', `${CREDIT}/gates/policy`, {
      policy: { metrics: ['auc >= 0.5'] },
    });
    expect(first.json()).toMatchObject({ revision: 1 });
    const set = await x.call('bob', 'PUT', `${CREDIT}/gates/policy`, { policy: POLICY });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ revision: 2, source: POLICY });
    const revisions = await x.call('viewer', 'GET', `${CREDIT}/gates/policy/revisions`);
    expect(revisions.json().revisions.map((r: { revision: number }) => r.revision)).toEqual([2, 1]);
    const audit = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'actor'])
      .where('action', '=', 'model.gates.policy.set')
      .execute();
    expect(audit).toEqual([
      { action: 'model.gates.policy.set', actor: 'user:bob' },
      { action: 'model.gates.policy.set', actor: 'user:bob' },
    ]);
  });

  it('a model that fails its fairness gate cannot reach production', async () => {
    const req = await x.call('alice', 'POST', `${CREDIT}/versions/${biased}/promotions`, {
      alias: 'production',
      note: 'best AUC so far',
    });
    expect(req.statusCode, req.body).toBe(201);
    const { request, gates } = req.json();
    expect(request).toMatchObject({
      state: 'pending',
      requestedBy: 'alice',
      alias: 'production',
      version: biased,
    });
    expect(gates.passed).toBe(false);
    const failed = gates.checks
      .filter((c: { passed: boolean }) => !c.passed)
      .map((c: { name: string }) => c.name);
    expect(failed).toEqual(
      expect.arrayContaining(['group: demographic_parity_ratio >= 0.8', 'group: four_fifths_rule']),
    );
    const check = gates.checks.find(
      (c: { name: string }) => c.name === 'group: demographic_parity_ratio >= 0.8',
    );
    expect(check).toMatchObject({ kind: 'fairness', threshold: 0.8, op: '>=', passed: false });
    expect(check.value).toBeLessThan(0.5);

    const before = await x.counts();
    const approve = await x.call('bob', 'POST', `${P}/model-promotions/${request.id}/approve`, {});
    expect(approve.statusCode).toBe(409);
    expect(errorCode(approve)).toBe('FALAJ_GATES_FAILED');
    expect(approve.json().error.details.failed).toContain('group: four_fifths_rule');
    // Nothing moved; only the failing gate run is kept as evidence.
    expect(await x.counts()).toEqual({ ...before, gate_runs: (before.gate_runs ?? 0) + 1 });
    expect((await x.call('bob', 'GET', `${P}/model-promotions/${request.id}`)).json().state).toBe('pending');
    // Nor can it be set directly, on either API.
    const direct = await x.call('dana', 'PUT', `${CREDIT}/aliases/production`, { version: biased });
    expect(direct.statusCode).toBe(403);
    expect(errorCode(direct)).toBe('FALAJ_ALIAS_PROTECTED');
    const ml = await x.t.request('POST', '/api/2.0/mlflow/registered-models/alias', {
      token: x.as.dana,
      headers: { 'x-falaj-project': 'alpha' },
      body: { name: 'credit', alias: 'production', version: String(biased) },
    });
    expect(ml.statusCode).toBe(403);
    expect(ml.json().error_code).toBe('PERMISSION_DENIED');
    const resolved = await x.call('viewer', 'GET', `${MODELS}/resolve?uri=credit@production`);
    expect(errorCode(resolved)).toBe('FALAJ_ALIAS_NOT_FOUND');
  });

  it('one that passes needs a second person: self-approval is refused, racing approvals have one winner', async () => {
    const ev = await evaluate(fair, { dataset: 'holdout@1', sensitive: ['group'], slices: ['group'] });
    expect(ev.statusCode, ev.body).toBe(201);
    expect(ev.json().result.fairness.group.report.fairlearn.demographicParityRatio).toBeGreaterThan(0.8);
    const gates = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/gates/runs`, {});
    expect(gates.statusCode, gates.body).toBe(201);
    expect(gates.json().checks.filter((c: { passed: boolean }) => !c.passed)).toEqual([]);
    expect(
      gates.json().checks.find((c: { name: string }) => c.name === 'training_data_validated'),
    ).toMatchObject({
      passed: true,
      value: 'loans-fair@1: passed',
    });

    const req = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/promotions`, {
      alias: 'production',
    });
    expect(req.statusCode, req.body).toBe(201);
    const id = req.json().request.id as string;
    expect(req.json().gates.passed).toBe(true);
    const dup = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/promotions`, {
      alias: 'production',
    });
    expect(errorCode(dup)).toBe('FALAJ_CONFLICT');
    // An editor cannot approve at all; the requester cannot approve even as a maintainer would.
    const self = await x.call('alice', 'POST', `${P}/model-promotions/${id}/approve`, {});
    expect(self.statusCode).toBe(403);
    await x.t.request('PUT', `${P}/members/alice`, { token: x.t.adminToken, body: { role: 'admin' } });
    const selfAdmin = await x.call('alice', 'POST', `${P}/model-promotions/${id}/approve`, {
      overrideReason: 'mine',
    });
    expect(selfAdmin.statusCode).toBe(403);
    expect(errorCode(selfAdmin)).toBe('FALAJ_SELF_APPROVAL');
    const selfPlain = await x.call('alice', 'POST', `${P}/model-promotions/${id}/approve`, {});
    expect(errorCode(selfPlain)).toBe('FALAJ_SELF_APPROVAL');
    await x.t.request('PUT', `${P}/members/alice`, { token: x.t.adminToken, body: { role: 'editor' } });

    const [a, b] = await Promise.all([
      x.call('bob', 'POST', `${P}/model-promotions/${id}/approve`, {}),
      x.call('carol', 'POST', `${P}/model-promotions/${id}/approve`, {}),
    ]);
    const statuses = [a.statusCode, b.statusCode].sort();
    expect(statuses, `${a.body} ${b.body}`).toEqual([200, 409]);
    const winner = a.statusCode === 200 ? a : b;
    const loser = a.statusCode === 200 ? b : a;
    expect(errorCode(loser)).toBe('FALAJ_PROMOTION_NOT_PENDING');
    const approver = winner.json().request.decidedBy;
    expect(['bob', 'carol']).toContain(approver);
    expect(winner.json().request).toMatchObject({
      state: 'approved',
      requestedBy: 'alice',
      overrideBy: null,
    });

    const alias = await x.call('viewer', 'GET', `${MODELS}/resolve?uri=credit@production`);
    expect(alias.json().version).toMatchObject({ version: fair });
    const approvals = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['actor', 'outcome'])
      .where('action', '=', 'model.promotion.approve')
      .where('outcome', '=', 'success')
      .execute();
    expect(approvals).toEqual([{ actor: `user:${approver}`, outcome: 'success' }]);
    const again = await x.call('carol', 'POST', `${P}/model-promotions/${id}/approve`, {});
    expect(errorCode(again)).toBe('FALAJ_PROMOTION_NOT_PENDING');
  });

  it('the card shows why it was allowed: data, evaluation, fairness, gates, who requested and approved', async () => {
    await x.call('alice', 'PUT', `${CREDIT}/versions/${fair}/card`, {
      intendedUse: 'Pre-screening of small loans',
      limitations: 'Not for amounts over 10k',
    });
    const res = await x.call('viewer', 'GET', `${CREDIT}/versions/${fair}/card`);
    expect(res.statusCode, res.body).toBe(200);
    const card = res.json();
    expect(card.model).toMatchObject({
      name: 'credit',
      version: fair,
      runId: fairRun,
      aliases: ['production'],
    });
    expect(card).toMatchObject({
      intendedUse: 'Pre-screening of small loans',
      limitations: 'Not for amounts over 10k',
    });
    expect(card.training.data).toEqual([
      expect.objectContaining({
        dataset: 'loans-fair',
        version: 1,
        rows: 1500,
        validation: 'passed',
        piiColumns: [],
      }),
    ]);
    expect(card.training.data[0].digest).toMatch(/^[0-9a-f]{64}$/);
    expect(card.training.run.params).toMatchObject({ target: 'label', model: 'gbdt' });
    expect(card.training.validation).toMatchObject({ kind: 'cv', folds: 3 });
    expect(card.evaluations.map((e: { kind: string }) => e.kind).sort()).toEqual(['cv', 'dataset']);
    expect(card.fairness[0]).toMatchObject({ column: 'group', data: 'holdout@1' });
    expect(card.fairness[0].groups).toHaveLength(2);
    const promotion = card.promotions[0];
    expect(promotion).toMatchObject({ alias: 'production', state: 'approved', requestedBy: 'alice' });
    expect(promotion.gates).toMatchObject({ passed: true });
    expect(promotion.gates.checks.length).toBe(7);

    const md = await x.call('viewer', 'GET', `${CREDIT}/versions/${fair}/card?format=md`);
    expect(md.headers['content-type']).toMatch(/^text\/markdown/);
    expect(md.body).toContain(`# Model card: credit version ${fair}`);
    expect(md.body).toContain('Pre-screening of small loans');
    expect(md.body).toMatch(/requested by alice .*approved by (bob|carol) with every gate passed/);
    expect(md.body).toContain('| loans-fair | 1 |');
    expect(md.body).toContain('group: demographic_parity_ratio >= 0.8');
  });

  it('an admin can override failed gates only with a written reason, as the second approval', async () => {
    const pending = (await x.call('bob', 'GET', `${CREDIT}/promotions?state=pending`)).json().requests;
    expect(pending).toHaveLength(1);
    const id = pending[0].id as string;
    const asMaintainer = await x.call('bob', 'POST', `${P}/model-promotions/${id}/approve`, {
      overrideReason: 'ok',
    });
    expect(asMaintainer.statusCode).toBe(403);
    expect(errorCode(asMaintainer)).toBe('FALAJ_FORBIDDEN');
    const empty = await x.call('dana', 'POST', `${P}/model-promotions/${id}/approve`, {
      overrideReason: '  ',
    });
    expect(errorCode(empty)).toBe('FALAJ_INVALID_ARGUMENT');
    const ok = await x.call('dana', 'POST', `${P}/model-promotions/${id}/approve`, {
      overrideReason: 'Regulator-approved exception for the pilot region',
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().request).toMatchObject({
      state: 'approved',
      decidedBy: 'dana',
      overrideBy: 'dana',
      overrideReason: 'Regulator-approved exception for the pilot region',
    });
    expect(ok.json().gates.passed).toBe(false);
    expect(
      (await x.call('viewer', 'GET', `${MODELS}/resolve?uri=credit@production`)).json().version.version,
    ).toBe(biased);
    const md = (await x.call('viewer', 'GET', `${CREDIT}/versions/${biased}/card?format=md`)).body;
    expect(md).toContain(
      'approved by dana, **overriding failed gates** with the reason: “Regulator-approved exception',
    );
  });

  it('rejection needs a reason; a deleted version’s request is gone; unknown versions are refused', async () => {
    const req = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/promotions`, {
      alias: 'production',
    });
    expect(req.statusCode, req.body).toBe(201);
    const id = req.json().request.id as string;
    const noReason = await x.call('bob', 'POST', `${P}/model-promotions/${id}/reject`, {});
    expect(errorCode(noReason)).toBe('FALAJ_VALIDATION');
    const rejected = await x.call('bob', 'POST', `${P}/model-promotions/${id}/reject`, {
      reason: 'wait for Q3 data',
    });
    expect(rejected.json()).toMatchObject({
      state: 'rejected',
      decidedBy: 'bob',
      decisionReason: 'wait for Q3 data',
    });
    expect(errorCode(await x.call('carol', 'POST', `${P}/model-promotions/${id}/approve`, {}))).toBe(
      'FALAJ_PROMOTION_NOT_PENDING',
    );

    const third = await x.trainAndRegister('credit', {
      dataset: 'loans-fair@1',
      target: 'label',
      exclude: ['group'],
    });
    const r3 = await x.call('alice', 'POST', `${CREDIT}/versions/${third.version}/promotions`, {
      alias: 'production',
    });
    expect(r3.statusCode, r3.body).toBe(201);
    const del = await x.t.request('DELETE', '/api/2.0/mlflow/model-versions/delete', {
      token: x.as.dana,
      headers: { 'x-falaj-project': 'alpha' },
      body: { name: 'credit', version: String(third.version) },
    });
    expect(del.statusCode, del.body).toBe(200);
    const gone = await x.call('bob', 'POST', `${P}/model-promotions/${r3.json().request.id}/approve`, {});
    expect(gone.statusCode).toBe(404);
    expect(errorCode(gone)).toBe('FALAJ_NOT_FOUND');
    const missing = await x.call('alice', 'POST', `${CREDIT}/versions/99/promotions`, {
      alias: 'production',
    });
    expect(errorCode(missing)).toBe('FALAJ_MODEL_VERSION_NOT_FOUND');
    const unprotected = await x.call('alice', 'POST', `${CREDIT}/versions/${fair}/promotions`, {
      alias: 'staging',
    });
    expect(errorCode(unprotected)).toBe('FALAJ_INVALID_ARGUMENT');
  });
});
