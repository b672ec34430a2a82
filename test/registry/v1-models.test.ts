// Falaj's v1 models API: registering from a run's model folder or an uploaded ONNX graph (its
// signature read from the graph), the lineage edge run → model_version, listing, aliases,
// URI resolution, and the errors (each with its stable code, changing nothing). Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walk } from '../../src/lineage/lineage-store.js';
import { DIALECTS } from '../support/dialects.js';
import { falajOnnx, type RegistryTest, setupRegistry } from './helpers.js';

const BASE = '/api/v1/projects/alpha/models';

describe.each(DIALECTS)('v1 models API on %s', (dialect) => {
  let x: RegistryTest;
  let runId: string;
  beforeAll(async () => {
    x = await setupRegistry(dialect);
    runId = await x.run({ files: { 'model/model.onnx': falajOnnx(), 'model/model.json': '{}' } });
  });
  afterAll(async () => x?.close());

  const json = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    token?: string,
  ) => x.t.request(method, url, { token: token ?? x.tokens.editor, ...(body !== undefined ? { body } : {}) });
  const upload = (name: string, bytes: Uint8Array, token?: string) =>
    x.t.app.inject({
      method: 'POST',
      url: `${BASE}/${name}/versions?description=uploaded`,
      headers: {
        authorization: `Bearer ${token ?? x.tokens.editor}`,
        'content-type': 'application/octet-stream',
      },
      payload: Buffer.from(bytes),
    });
  const code = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;

  it('registers from a run: creates the model, reads the signature from model.onnx, records lineage', async () => {
    const res = await json('POST', `${BASE}/churn/versions`, { run_id: runId, tags: { stage: 'cv' } });
    expect(res.statusCode, res.body).toBe(201);
    const v = res.json();
    expect(v).toMatchObject({
      name: 'churn',
      version: 1,
      uri: 'models:/churn/1',
      status: 'READY',
      stage: 'None',
      source: `runs:/${runId}/model`,
      run_id: runId,
      artifact_path: `runs/${runId}/artifacts/model`,
      format: 'falaj',
      tags: { stage: 'cv' },
      aliases: [],
      created_model: true,
    });
    expect(v.signature.inputs).toEqual([
      { name: 'x', type: 'double', shape: ['N', 1] },
      { name: 'colour', type: 'string', shape: ['N', 1] },
    ]);
    expect(v.signature.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities', 'label']);
    const db = x.t.svc.store.db;
    const row = await db
      .selectFrom('model_versions')
      .select('id')
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    const project = await db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'alpha')
      .executeTakeFirstOrThrow();
    const up = await walk(db, project.id, { kind: 'model_version', id: row.id }, 'up');
    expect(up.map((e) => [e.from, e.relation, e.attrs])).toEqual([
      [{ kind: 'run', id: runId }, 'registered', { source: `runs:/${runId}/model` }],
    ]);
    const again = await json('POST', `${BASE}/churn/versions`, { run_id: runId, path: 'model/' });
    expect(again.json()).toMatchObject({ version: 2, created_model: false });
  });

  it('registers an ONNX file made by our exporter (raw body), with inputs and outputs from the graph', async () => {
    const res = await upload('uploaded', falajOnnx());
    expect(res.statusCode, res.body).toBe(201);
    const v = res.json();
    expect(v).toMatchObject({
      name: 'uploaded',
      version: 1,
      format: 'onnx',
      run_id: null,
      description: 'uploaded',
    });
    expect(v.signature.inputs.map((i: { name: string; type: string }) => [i.name, i.type])).toEqual([
      ['x', 'double'],
      ['colour', 'string'],
    ]);
    expect(v.source).toBe(`mlflow-artifacts:/alpha/${v.artifact_path}`);
    // The graph is in the project's store, byte for byte.
    const file = await x.t.request(
      'GET',
      `/api/v1/projects/alpha/artifacts/files/${v.artifact_path}/model.onnx`,
      {
        token: x.tokens.viewer,
      },
    );
    expect(file.statusCode).toBe(200);
    expect(Buffer.compare(file.rawPayload, Buffer.from(falajOnnx()))).toBe(0);
  });

  it('bad input gets a stable code and stores nothing', async () => {
    const betaRun = await x.run({
      token: x.beta,
      project: 'beta',
      files: { 'model/model.onnx': falajOnnx() },
    });
    const emptyRun = await x.run();
    const before = await x.counts();
    const notOnnx = await upload('broken', Buffer.from('this is not an ONNX model at all, just text'));
    expect(notOnnx.statusCode).toBe(400);
    expect(code(notOnnx)).toBe('FALAJ_ONNX_INVALID');
    const empty = await upload('broken', new Uint8Array());
    expect(code(empty)).toBe('FALAJ_ONNX_INVALID');
    const truncated = await upload('broken', falajOnnx().slice(0, 40));
    expect(code(truncated)).toBe('FALAJ_ONNX_INVALID');
    const cross = await json('POST', `${BASE}/broken/versions`, { run_id: betaRun });
    expect(cross.statusCode).toBe(400);
    expect(code(cross)).toBe('FALAJ_MODEL_SOURCE_INVALID');
    const nothing = await json('POST', `${BASE}/broken/versions`, { run_id: emptyRun });
    expect(code(nothing)).toBe('FALAJ_MODEL_SOURCE_INVALID');
    const unknownRun = await json('POST', `${BASE}/broken/versions`, { run_id: 'f'.repeat(32) });
    expect(code(unknownRun)).toBe('FALAJ_MODEL_SOURCE_INVALID');
    const extra = await json('POST', `${BASE}/broken/versions`, { run_id: runId, what: 1 });
    expect(code(extra)).toBe('FALAJ_VALIDATION');
    const viewer = await upload('broken', falajOnnx(), x.tokens.viewer);
    expect(viewer.statusCode).toBe(403);
    expect(await x.counts()).toEqual(before);
    const shown = await json('GET', `${BASE}/broken`);
    expect(shown.statusCode).toBe(404);
    expect(code(shown)).toBe('FALAJ_MODEL_NOT_FOUND');
  });

  it('lists and shows models with versions and aliases; versions one by one', async () => {
    await json('POST', `${BASE}/shown/versions`, { run_id: runId });
    await json('POST', `${BASE}/shown/versions`, { run_id: runId });
    const set = await json('PUT', `${BASE}/shown/aliases/champion`, { version: 1 });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({ name: 'shown', alias: 'champion', version: 1, previous: null });
    const list = await json('GET', BASE, undefined, x.tokens.viewer);
    const entry = list.json().models.find((m: { name: string }) => m.name === 'shown');
    expect(entry).toMatchObject({
      aliases: { champion: 1 },
      latest_version: 2,
      protected_aliases: ['production'],
      user_id: 'admin',
    });
    const show = await json('GET', `${BASE}/shown`, undefined, x.tokens.viewer);
    expect(
      show.json().versions.map((v: { version: number; aliases: string[] }) => [v.version, v.aliases]),
    ).toEqual([
      [2, []],
      [1, ['champion']],
    ]);
    expect((await json('GET', `${BASE}/shown/versions/2`)).json()).toMatchObject({
      version: 2,
      format: 'falaj',
    });
    const missing = await json('GET', `${BASE}/shown/versions/9`);
    expect(missing.statusCode).toBe(404);
    expect(code(missing)).toBe('FALAJ_MODEL_VERSION_NOT_FOUND');
    expect((await json('GET', `${BASE}/shown/versions`)).json().versions).toHaveLength(2);
  });

  it('aliases: protected ones refused (FALAJ_ALIAS_PROTECTED, 403), reserved ones invalid, removal', async () => {
    await json('POST', `${BASE}/guarded/versions`, { run_id: runId });
    const before = await x.counts();
    const prod = await json('PUT', `${BASE}/guarded/aliases/production`, { version: 1 }, x.tokens.admin);
    expect(prod.statusCode).toBe(403);
    expect(code(prod)).toBe('FALAJ_ALIAS_PROTECTED');
    expect(prod.json().error.message).toContain('falaj models promote guarded@1 --alias production');
    for (const alias of ['latest', 'v3', 'a.b']) {
      const res = await json('PUT', `${BASE}/guarded/aliases/${alias}`, { version: 1 });
      expect(code(res), alias).toBe('FALAJ_ALIAS_INVALID');
    }
    const unset = await json('DELETE', `${BASE}/guarded/aliases/champion`);
    expect(code(unset)).toBe('FALAJ_ALIAS_NOT_FOUND');
    expect(await x.counts()).toEqual(before);
    // Protection is per model and changed by a project admin only.
    const byMaintainer = await json(
      'PUT',
      `${BASE}/guarded/protected-aliases`,
      { aliases: ['production', 'champion'] },
      x.tokens.maintainer,
    );
    expect(byMaintainer.statusCode).toBe(403);
    const byAdmin = await json(
      'PUT',
      `${BASE}/guarded/protected-aliases`,
      { aliases: ['production', 'champion'] },
      x.tokens.admin,
    );
    expect(byAdmin.json().protected_aliases).toEqual(['production', 'champion']);
    expect(code(await json('PUT', `${BASE}/guarded/aliases/champion`, { version: 1 }))).toBe(
      'FALAJ_ALIAS_PROTECTED',
    );
    const ok = await json('PUT', `${BASE}/guarded/aliases/shadow`, { version: 1 });
    expect(ok.statusCode).toBe(200);
    const removed = await json('DELETE', `${BASE}/guarded/aliases/shadow`);
    expect(removed.json()).toEqual({ name: 'guarded', alias: 'shadow', removed: 1 });
  });

  it('resolves every URI form; bad URIs and unknown names have their codes', async () => {
    await json('POST', `${BASE}/res/versions`, { run_id: runId });
    await json('POST', `${BASE}/res/versions`, { run_id: runId });
    await json('PUT', `${BASE}/res/aliases/champion`, { version: 1 });
    const resolve = (uri: string) =>
      json('GET', `${BASE}/resolve?uri=${encodeURIComponent(uri)}`, undefined, x.tokens.viewer);
    for (const [uri, n] of [
      ['models:/res@champion', 1],
      ['models:/res/2', 2],
      ['models:/res/latest', 2],
      ['models:/res/None', 2],
      ['res@champion', 1],
      ['res@1', 1],
    ] as const) {
      const res = await resolve(uri);
      expect(res.statusCode, `${uri}: ${res.body}`).toBe(200);
      expect(res.json().version.version, uri).toBe(n);
    }
    expect(code(await resolve('models:/res@nope'))).toBe('FALAJ_ALIAS_NOT_FOUND');
    expect(code(await resolve('models:/res/7'))).toBe('FALAJ_MODEL_VERSION_NOT_FOUND');
    expect(code(await resolve('models:/ghost/1'))).toBe('FALAJ_MODEL_NOT_FOUND');
    expect(code(await resolve('models:/res/Shipped'))).toBe('FALAJ_MODEL_URI_INVALID');
    expect(code(await resolve('res'))).toBe('FALAJ_MODEL_URI_INVALID');
  });

  it('deleting a model needs a maintainer', async () => {
    await json('POST', `${BASE}/temp/versions`, { run_id: runId });
    expect((await json('DELETE', `${BASE}/temp`)).statusCode).toBe(403);
    const res = await json('DELETE', `${BASE}/temp`, undefined, x.tokens.maintainer);
    expect(res.statusCode, res.body).toBe(200);
    expect((await json('GET', `${BASE}/temp`)).statusCode).toBe(404);
  });

  it('the OpenAPI document lists the registry routes', async () => {
    const res = await x.t.request('GET', '/api/openapi.json');
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    for (const p of [
      '/api/2.0/mlflow/registered-models/create',
      '/api/2.0/mlflow/registered-models/alias',
      '/api/2.0/mlflow/model-versions/transition-stage',
      '/api/v1/projects/{project}/models/{name}/versions',
      '/api/v1/projects/{project}/models/resolve',
    ])
      expect(paths, p).toContain(p);
  });

  it('concurrent registrations of a new model create it once and take distinct numbers', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => json('POST', `${BASE}/racing/versions`, { run_id: runId })),
    );
    for (const r of results) expect(r.statusCode, r.body).toBe(201);
    expect(results.map((r) => r.json().version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.filter((r) => r.json().created_model)).toHaveLength(1);
  });
});
