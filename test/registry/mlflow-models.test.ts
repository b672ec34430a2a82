// MLflow's registered-models endpoints, as /work/shared/notes/mlflow-registry.md states them
// (MLflow 2.x's model_registry.proto, search_utils.py, validation.py): field names, defaults,
// error codes and statuses. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { mlError, type RegistryTest, setupRegistry } from './helpers.js';

describe.each(DIALECTS)('MLflow registered-models API on %s', (dialect) => {
  let x: RegistryTest;
  beforeAll(async () => {
    x = await setupRegistry(dialect);
  });
  afterAll(async () => x?.close());

  const create = (name: string, extra: Record<string, unknown> = {}, token?: string) =>
    x.ml('POST', 'registered-models/create', { body: { name, ...extra }, ...(token ? { token } : {}) });

  it('create answers {registered_model} with MLflow field names; get returns the same', async () => {
    const before = x.t.clock.now();
    const res = await create('fraud', { description: 'card fraud', tags: [{ key: 'team', value: 'risk' }] });
    expect(res.statusCode, res.body).toBe(200);
    const m = res.json().registered_model;
    expect(m).toMatchObject({
      name: 'fraud',
      description: 'card fraud',
      user_id: 'admin',
      creation_timestamp: before,
      last_updated_timestamp: before,
      tags: [{ key: 'team', value: 'risk' }],
    });
    expect(typeof m.creation_timestamp).toBe('number');
    const got = await x.ml('GET', 'registered-models/get', { query: { name: 'fraud' } });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual({ registered_model: m });
  });

  it('a duplicate name is RESOURCE_ALREADY_EXISTS with status 400 (not 409), and changes nothing', async () => {
    await create('dup');
    const before = await x.counts();
    const res = await create('dup', { tags: [{ key: 'k', value: 'v' }] });
    expect(mlError(res)).toEqual({
      status: 400,
      error_code: 'RESOURCE_ALREADY_EXISTS',
      message: 'Registered Model (name=dup) already exists.',
    });
    expect(await x.counts()).toEqual(before);
  });

  it('a missing name is INVALID_PARAMETER_VALUE; an unknown model is RESOURCE_DOES_NOT_EXIST 404', async () => {
    const res = await x.ml('POST', 'registered-models/create', { body: {} });
    expect(mlError(res)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
    const got = await x.ml('GET', 'registered-models/get', { query: { name: 'nope' } });
    expect(mlError(got)).toEqual({
      status: 404,
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: 'Registered Model with name=nope not found',
    });
    // Another project's model of that name is invisible.
    await create('only-alpha');
    const other = await x.ml('GET', 'registered-models/get', {
      token: x.beta,
      query: { name: 'only-alpha' },
    });
    expect(mlError(other).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('rename (maintainer) and update (PATCH, editor)', async () => {
    await create('old-name');
    const denied = await x.ml('POST', 'registered-models/rename', {
      token: x.tokens.editor,
      body: { name: 'old-name', new_name: 'new-name' },
    });
    expect(mlError(denied)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    x.t.clock.advance(1000);
    const res = await x.ml('POST', 'registered-models/rename', {
      token: x.tokens.maintainer,
      body: { name: 'old-name', new_name: 'new-name' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().registered_model.name).toBe('new-name');
    expect(res.json().registered_model.last_updated_timestamp).toBe(x.t.clock.now());
    expect((await x.ml('GET', 'registered-models/get', { query: { name: 'old-name' } })).statusCode).toBe(
      404,
    );
    await create('taken');
    const clash = await x.ml('POST', 'registered-models/rename', {
      body: { name: 'new-name', new_name: 'taken' },
    });
    expect(mlError(clash)).toMatchObject({ status: 400, error_code: 'RESOURCE_ALREADY_EXISTS' });
    const upd = await x.ml('PATCH', 'registered-models/update', {
      token: x.tokens.editor,
      body: { name: 'new-name', description: 'now described' },
    });
    expect(upd.statusCode, upd.body).toBe(200);
    expect(upd.json().registered_model.description).toBe('now described');
    const unknown = await x.ml('PATCH', 'registered-models/update', {
      body: { name: 'ghost', description: 'x' },
    });
    expect(mlError(unknown)).toMatchObject({ status: 404, error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('set-tag and delete-tag', async () => {
    await create('tagged');
    const set = await x.ml('POST', 'registered-models/set-tag', {
      token: x.tokens.editor,
      body: { name: 'tagged', key: 'owner', value: 'alice' },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({});
    let m = (await x.ml('GET', 'registered-models/get', { query: { name: 'tagged' } })).json()
      .registered_model;
    expect(m.tags).toEqual([{ key: 'owner', value: 'alice' }]);
    const del = await x.ml('DELETE', 'registered-models/delete-tag', {
      body: { name: 'tagged', key: 'owner' },
    });
    expect(del.statusCode, del.body).toBe(200);
    m = (await x.ml('GET', 'registered-models/get', { query: { name: 'tagged' } })).json().registered_model;
    expect(m.tags).toBeUndefined();
    const viewer = await x.ml('POST', 'registered-models/set-tag', {
      token: x.tokens.viewer,
      body: { name: 'tagged', key: 'a', value: 'b' },
    });
    expect(mlError(viewer)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    const badKey = await x.ml('POST', 'registered-models/set-tag', {
      body: { name: 'tagged', key: '', value: 'b' },
    });
    expect(mlError(badKey)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
  });

  it('delete needs a maintainer (the creator gets no rights of its own) and removes the model', async () => {
    const made = await create('doomed', {}, x.tokens.editor);
    expect(made.statusCode).toBe(200);
    const byCreator = await x.ml('DELETE', 'registered-models/delete', {
      token: x.tokens.editor,
      body: { name: 'doomed' },
    });
    expect(mlError(byCreator)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    const res = await x.ml('DELETE', 'registered-models/delete', {
      token: x.tokens.maintainer,
      body: { name: 'doomed' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({});
    expect((await x.ml('GET', 'registered-models/get', { query: { name: 'doomed' } })).statusCode).toBe(404);
    const again = await x.ml('DELETE', 'registered-models/delete', { body: { name: 'doomed' } });
    expect(mlError(again)).toMatchObject({ status: 404, error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('viewers read; anonymous callers get UNAUTHENTICATED 401', async () => {
    expect((await create('by-viewer', {}, x.tokens.viewer)).statusCode).toBe(403);
    expect((await x.ml('GET', 'registered-models/search', { token: x.tokens.viewer })).statusCode).toBe(200);
    const anon = await x.ml('GET', 'registered-models/search', { token: '' });
    expect(mlError(anon)).toMatchObject({ status: 401, error_code: 'UNAUTHENTICATED' });
  });

  it('every write is audited with its action', async () => {
    await create('audited-model');
    await x.ml('POST', 'registered-models/set-tag', {
      body: { name: 'audited-model', key: 'k', value: 'v' },
    });
    const rows = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'object_id', 'outcome'])
      .where('object_id', '=', 'audited-model')
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([
      ['model.create', 'success'],
      ['model.tag.set', 'success'],
    ]);
  });
});

describe.each(DIALECTS)('MLflow registered-models search on %s', (dialect) => {
  let x: RegistryTest;
  const NAMES = ['a_b1', 'axb1', 'A_B2', 'a%c', 'abc', 'zeta'];
  beforeAll(async () => {
    x = await setupRegistry(dialect);
    for (const [i, name] of NAMES.entries()) {
      x.t.clock.advance(1000);
      const res = await x.ml('POST', 'registered-models/create', {
        body: {
          name,
          tags: [{ key: 'label', value: name }, ...(i % 2 === 0 ? [{ key: 'even', value: 'yes' }] : [])],
        },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    // Another project's models never show.
    await x.ml('POST', 'registered-models/create', { token: x.beta, body: { name: 'a_b_beta' } });
  });
  afterAll(async () => x?.close());

  const search = async (query: Record<string, string | string[]>) => {
    const res = await x.ml('GET', 'registered-models/search', { query });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { registered_models?: { name: string }[]; next_page_token?: string };
  };
  const names = async (filter: string, extra: Record<string, string | string[]> = {}) =>
    ((await search({ filter, ...extra })).registered_models ?? []).map((m) => m.name);

  it('no filter: every model of the project, by name ascending (byte order)', async () => {
    expect(await names('')).toEqual(['A_B2', 'a%c', 'a_b1', 'abc', 'axb1', 'zeta']);
  });

  it.each([
    ["name = 'abc'", ['abc']],
    ["name != 'abc'", ['A_B2', 'a%c', 'a_b1', 'axb1', 'zeta']],
    ["name LIKE 'a\\_b%'", ['a_b1']],
    ["name LIKE 'a_b%'", ['a_b1', 'axb1']],
    ["name ILIKE 'a\\_b%'", ['A_B2', 'a_b1']],
    ["name LIKE 'a\\%c'", ['a%c']],
    ["tags.label LIKE 'a%'", ['a%c', 'a_b1', 'abc', 'axb1']],
    ["tags.even = 'yes'", ['A_B2', 'a_b1', 'abc']],
    ["tags.even = 'yes' AND name LIKE 'a%'", ['a_b1', 'abc']],
    ["tags.`even` = 'yes' and name ILIKE 'A%'", ['A_B2', 'a_b1', 'abc']],
  ])('filter %s', async (filter, want) => {
    expect(await names(filter)).toEqual(want);
  });

  it.each([
    "name = 'a' OR name = 'b'",
    'version_number = 1',
    "run_id IN ('x')",
    "name IN ('abc')",
    "name > 'a'",
    'name = abc',
    "name LIKE 'ends\\'",
    "tags. = 'x'",
  ])('refuses %s with INVALID_PARAMETER_VALUE', async (filter) => {
    const res = await x.ml('GET', 'registered-models/search', { query: { filter } });
    expect(mlError(res)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
  });

  it('order_by creation_timestamp / last_updated_timestamp / name with ASC and DESC', async () => {
    expect(await names('', { order_by: 'creation_timestamp DESC' })).toEqual([...NAMES].reverse());
    expect(await names('', { order_by: 'creation_timestamp' })).toEqual(NAMES);
    expect(await names('', { order_by: 'name DESC' })).toEqual([
      'zeta',
      'axb1',
      'abc',
      'a_b1',
      'a%c',
      'A_B2',
    ]);
    expect(await names('', { order_by: ['last_updated_timestamp ASC'] })).toEqual(NAMES);
    const bad = await x.ml('GET', 'registered-models/search', { query: { order_by: 'version_number' } });
    expect(mlError(bad)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
  });

  it('max_results defaults to 100, is at most 1000, and pages carry next_page_token', async () => {
    const tooMany = await x.ml('GET', 'registered-models/search', { query: { max_results: '1001' } });
    expect(mlError(tooMany)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
    expect(mlError(tooMany).message).toContain('1000');
    const zero = await x.ml('GET', 'registered-models/search', { query: { max_results: '0' } });
    expect(zero.statusCode).toBe(400);
    expect((await search({ max_results: '1000' })).registered_models).toHaveLength(6);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await search({
        max_results: '4',
        order_by: 'name DESC',
        ...(token ? { page_token: token } : {}),
      });
      seen.push(...(page.registered_models ?? []).map((m) => m.name));
      token = page.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen).toEqual(['zeta', 'axb1', 'abc', 'a_b1', 'a%c', 'A_B2']);
    const first = await search({ max_results: '2' });
    const foreign = await x.ml('GET', 'registered-models/search', {
      query: { max_results: '2', filter: "name LIKE 'a%'", page_token: first.next_page_token! },
    });
    expect(mlError(foreign)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
    const garbage = await x.ml('GET', 'registered-models/search', { query: { page_token: 'not-a-token' } });
    expect(mlError(garbage)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
  });
});
