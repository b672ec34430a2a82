import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { setupTracking, type TrackingTest } from './helpers.js';

describe.each(DIALECTS)('MLflow experiments API on %s', (dialect) => {
  let x: TrackingTest;
  beforeAll(async () => {
    x = await setupTracking(dialect);
  });
  afterAll(async () => x?.close());

  it('creates, gets by id and by name, with MLflow field names; unknown fields are ignored', async () => {
    const created = await x.ml('POST', 'experiments/create', {
      body: { name: 'fraud', tags: [{ key: 'team', value: 'risk' }], some_future_field: { a: 1 } },
    });
    expect(created.statusCode).toBe(200);
    const id = created.json().experiment_id as string;
    expect(id).toMatch(/^\d{18}$/);
    const got = await x.ml('GET', 'experiments/get', { query: { experiment_id: id } });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual({
      experiment: {
        experiment_id: id,
        name: 'fraud',
        artifact_location: `mlflow-artifacts:/alpha/experiments/${id}`,
        lifecycle_stage: 'active',
        creation_time: x.t.clock.now(),
        last_update_time: x.t.clock.now(),
        tags: [{ key: 'team', value: 'risk' }],
      },
    });
    const byName = await x.ml('GET', 'experiments/get-by-name', { query: { experiment_name: 'fraud' } });
    expect(byName.json().experiment.experiment_id).toBe(id);
  });

  it('refuses a duplicate name with RESOURCE_ALREADY_EXISTS and unknown ids with RESOURCE_DOES_NOT_EXIST', async () => {
    const before = await x.counts();
    const dup = await x.ml('POST', 'experiments/create', { body: { name: 'fraud' } });
    expect(dup.statusCode).toBe(400);
    expect(dup.json()).toEqual({
      error_code: 'RESOURCE_ALREADY_EXISTS',
      message: "Experiment 'fraud' already exists.",
    });
    const missing = await x.ml('GET', 'experiments/get', { query: { experiment_id: '123' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const missingName = await x.ml('GET', 'experiments/get-by-name', { query: { experiment_name: 'nope' } });
    expect(missingName.statusCode).toBe(404);
    const empty = await x.ml('POST', 'experiments/create', { body: { name: '' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    const after = await x.counts();
    // Only the refusals' audit events were added.
    expect({ ...after, audit_events: 0 }).toEqual({ ...before, audit_events: 0 });
  });

  it('searches with filter, order_by, paging and view_type (GET with repeated keys, and POST)', async () => {
    for (const [i, name] of ['fraud-b', 'fraud-a', 'churn'].entries()) {
      x.t.clock.advance(1000);
      const res = await x.ml('POST', 'experiments/create', {
        body: { name, tags: [{ key: 'idx', value: String(i) }] },
      });
      expect(res.statusCode).toBe(200);
    }
    const names = (r: { json(): { experiments?: { name: string }[] } }) =>
      (r.json().experiments ?? []).map((e) => e.name);
    const like = await x.ml('POST', 'experiments/search', {
      body: { filter: "name LIKE 'fraud%'", order_by: ['name ASC'] },
    });
    expect(names(like)).toEqual(['fraud', 'fraud-a', 'fraud-b']);
    // LIKE is case-sensitive on both dialects, ILIKE is not.
    expect(
      names(await x.ml('POST', 'experiments/search', { body: { filter: "name LIKE 'FRAUD%'" } })),
    ).toEqual([]);
    expect(
      names(
        await x.ml('POST', 'experiments/search', {
          body: { filter: "name ILIKE 'FRAUD-_'", order_by: ['name'] },
        }),
      ),
    ).toEqual(['fraud-a', 'fraud-b']);
    expect(names(await x.ml('POST', 'experiments/search', { body: { filter: "tags.idx = '2'" } }))).toEqual([
      'churn',
    ]);
    const byTag = await x.ml('GET', 'experiments/search', {
      query: { filter: "tags.team = 'risk' and attribute.name != 'x'" },
    });
    expect(names(byTag)).toEqual(['fraud']);
    // Repeated order_by keys make a list; default order is newest first.
    expect(names(await x.ml('GET', 'experiments/search', { query: {} }))).toEqual([
      'churn',
      'fraud-a',
      'fraud-b',
      'fraud',
    ]);
    const ordered = await x.ml('GET', 'experiments/search', {
      query: { order_by: ['last_update_time DESC', 'name ASC'], max_results: '2' },
    });
    expect(names(ordered)).toEqual(['churn', 'fraud-a']);
    const token = ordered.json().next_page_token as string;
    expect(token).toBeTruthy();
    const page2 = await x.ml('GET', 'experiments/search', {
      query: { order_by: ['last_update_time DESC', 'name ASC'], max_results: '2', page_token: token },
    });
    expect(names(page2)).toEqual(['fraud-b', 'fraud']);
    expect(page2.json().next_page_token).toBeUndefined();
    const legacy = await x.ml('GET', 'experiments/list', { query: { view_type: 'ALL' } });
    expect(names(legacy)).toHaveLength(4);
    for (const bad of ["name = 'unterminated", 'name >', "'; DROP TABLE experiments; --", 'metrics.x > 1']) {
      const res = await x.ml('POST', 'experiments/search', { body: { filter: bad } });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    expect((await x.ml('GET', 'experiments/search', { query: { page_token: '!!' } })).statusCode).toBe(400);
  });

  it('renames, tags, deletes and restores (and lists deleted ones by view_type)', async () => {
    const id = (await x.ml('POST', 'experiments/create', { body: { name: 'lifecycle' } })).json()
      .experiment_id;
    expect(
      (await x.ml('POST', 'experiments/update', { body: { experiment_id: id, new_name: 'fraud' } })).json()
        .error_code,
    ).toBe('RESOURCE_ALREADY_EXISTS');
    expect(
      (await x.ml('POST', 'experiments/update', { body: { experiment_id: id, new_name: 'renamed' } }))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await x.ml('POST', 'experiments/set-experiment-tag', {
          body: { experiment_id: id, key: 'k', value: 'v' },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await x.ml('POST', 'experiments/delete-experiment-tag', {
          body: { experiment_id: id, key: 'missing' },
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await x.ml('POST', 'experiments/delete-experiment-tag', { body: { experiment_id: id, key: 'k' } }))
        .statusCode,
    ).toBe(200);
    const runRes = await x.ml('POST', 'runs/create', { body: { experiment_id: id } });
    const runId = runRes.json().run.info.run_id as string;
    expect((await x.ml('POST', 'experiments/delete', { body: { experiment_id: id } })).statusCode).toBe(200);
    const got = await x.ml('GET', 'experiments/get', { query: { experiment_id: id } });
    expect(got.json().experiment).toMatchObject({ name: 'renamed', lifecycle_stage: 'deleted' });
    expect(
      (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run.info.lifecycle_stage,
    ).toBe('deleted');
    const deleted = await x.ml('GET', 'experiments/search', { query: { view_type: 'DELETED_ONLY' } });
    expect(deleted.json().experiments.map((e: { name: string }) => e.name)).toEqual(['renamed']);
    expect((await x.ml('POST', 'runs/create', { body: { experiment_id: id } })).json().error_code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    expect((await x.ml('POST', 'experiments/restore', { body: { experiment_id: id } })).statusCode).toBe(200);
    expect(
      (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run.info.lifecycle_stage,
    ).toBe('active');
  });

  it("a token of project A cannot see project B's experiments; a session picks the project by header", async () => {
    const inBeta = await x.ml('POST', 'experiments/create', { token: x.beta, body: { name: 'beta-only' } });
    const betaId = inBeta.json().experiment_id as string;
    const fromAlpha = await x.ml('GET', 'experiments/get', { query: { experiment_id: betaId } });
    expect(fromAlpha.statusCode).toBe(404);
    expect(fromAlpha.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const alphaNames = (await x.ml('POST', 'experiments/search', { body: { view_type: 'ALL' } }))
      .json()
      .experiments.map((e: { name: string }) => e.name);
    expect(alphaNames).not.toContain('beta-only');
    // The same name may exist in two projects.
    expect(
      (await x.ml('POST', 'experiments/create', { token: x.beta, body: { name: 'fraud' } })).statusCode,
    ).toBe(200);
    // A beta token that names alpha in the header is refused.
    const cross = await x.ml('GET', 'experiments/search', {
      token: x.beta,
      headers: { 'x-falaj-project': 'alpha' },
    });
    expect(cross.statusCode).toBe(403);
    const session = await x.ml('GET', 'experiments/get-by-name', {
      token: x.t.adminToken,
      headers: { 'x-falaj-project': 'beta' },
      query: { experiment_name: 'beta-only' },
    });
    expect(session.json().experiment.experiment_id).toBe(betaId);
  });

  it('answers 401 and 403 in MLflow shape', async () => {
    const anon = await x.ml('GET', 'experiments/search', { token: '' });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toEqual({ error_code: 'UNAUTHENTICATED', message: expect.any(String) });
    const bogus = await x.ml('GET', 'experiments/search', { token: 'falaj_nonsense' });
    expect(bogus.statusCode).toBe(401);
    expect(bogus.json().error_code).toBe('UNAUTHENTICATED');
    const viewerWrite = await x.ml('POST', 'experiments/create', { token: x.viewer, body: { name: 'nope' } });
    expect(viewerWrite.statusCode).toBe(403);
    expect(viewerWrite.json()).toEqual({ error_code: 'PERMISSION_DENIED', message: expect.any(String) });
    const sessionWithoutProject = await x.ml('GET', 'experiments/search', { token: x.t.adminToken });
    expect(sessionWithoutProject.statusCode).toBe(403);
    expect(sessionWithoutProject.json().error_code).toBe('PERMISSION_DENIED');
    const malformed = await x.t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { authorization: `Bearer ${x.alpha}`, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error_code).toBe('BAD_REQUEST');
  });
});
