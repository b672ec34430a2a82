// MLflow's model-versions and alias endpoints, as /work/shared/notes/mlflow-registry.md states
// them: ModelVersion's fields (version a string, status READY), sources, errors, alias rules
// (reserved names, the missing-alias message), protected aliases (403) and transition-stage
// mapped onto aliases. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { falajOnnx, mlError, type RegistryTest, setupRegistry } from './helpers.js';

describe.each(DIALECTS)('MLflow model-versions and aliases on %s', (dialect) => {
  let x: RegistryTest;
  let runId: string;
  beforeAll(async () => {
    x = await setupRegistry(dialect);
    runId = await x.run({ files: { 'model/model.onnx': falajOnnx(), 'model/model.json': '{}' } });
  });
  afterAll(async () => x?.close());

  const model = async (name: string) => {
    const res = await x.ml('POST', 'registered-models/create', { body: { name } });
    expect(res.statusCode, res.body).toBe(200);
  };
  const version = async (name: string, body: Record<string, unknown> = {}, token?: string) => {
    const res = await x.ml('POST', 'model-versions/create', {
      body: { name, source: `runs:/${runId}/model`, run_id: runId, ...body },
      ...(token ? { token } : {}),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().model_version as Record<string, unknown>;
  };
  const get = async (name: string, v: string) =>
    (await x.ml('GET', 'model-versions/get', { query: { name, version: v } })).json().model_version;

  it('create answers {model_version}: version "1", READY at once, stage None, the source and run_id', async () => {
    await model('fraud');
    const now = x.t.clock.now();
    const v = await version('fraud', {
      tags: [{ key: 'k', value: 'v' }],
      description: 'first',
      run_link: 'http://x',
    });
    expect(v).toEqual({
      name: 'fraud',
      version: '1',
      creation_timestamp: now,
      last_updated_timestamp: now,
      user_id: 'admin',
      current_stage: 'None',
      description: 'first',
      source: `runs:/${runId}/model`,
      run_id: runId,
      status: 'READY',
      tags: [{ key: 'k', value: 'v' }],
      run_link: 'http://x',
    });
    expect((await version('fraud', {}, x.tokens.editor)).version).toBe('2');
    expect(await get('fraud', '1')).toEqual(v);
    const m = (await x.ml('GET', 'registered-models/get', { query: { name: 'fraud' } })).json()
      .registered_model;
    expect(
      m.latest_versions.map((l: { version: string; current_stage: string }) => [l.version, l.current_stage]),
    ).toEqual([['2', 'None']]);
  });

  it('what mlflow.register_model sends: the run artifact URI as source, with run_id', async () => {
    await model('via-uri');
    const res = await x.ml('POST', 'model-versions/create', {
      body: {
        name: 'via-uri',
        source: `mlflow-artifacts:/alpha/runs/${runId}/artifacts/model`,
        run_id: runId,
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const uri = await x.ml('GET', 'model-versions/get-download-uri', {
      query: { name: 'via-uri', version: '1' },
    });
    expect(uri.json()).toEqual({ artifact_uri: `mlflow-artifacts:/alpha/runs/${runId}/artifacts/model` });
    // The signature was read from the run's model.onnx.
    const row = await x.t.svc.store.db
      .selectFrom('model_versions')
      .select(['signature', 'format', 'artifact_path'])
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(row.format).toBe('falaj');
    expect(row.artifact_path).toBe(`runs/${runId}/artifacts/model`);
    expect(JSON.parse(row.signature!).inputs.map((i: { name: string }) => i.name)).toEqual(['x', 'colour']);
  });

  it('errors: unknown model or version, bad version, a run of another project, a local path; nothing changes', async () => {
    await model('err');
    await version('err');
    const betaRun = await x.run({ token: x.beta, project: 'beta' });
    const before = await x.counts();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ name: 'ghost', source: `runs:/${runId}/model` }, 404, 'RESOURCE_DOES_NOT_EXIST'],
      [{ name: 'err', source: `runs:/${betaRun}/model` }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'err', source: `runs:/${runId}/model`, run_id: betaRun }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'err', source: 's3://bucket/m', run_id: betaRun }, 400, 'INVALID_PARAMETER_VALUE'],
      [
        { name: 'err', source: `mlflow-artifacts:/beta/runs/${betaRun}/artifacts/model` },
        400,
        'INVALID_PARAMETER_VALUE',
      ],
      [{ name: 'err', source: '/etc/passwd' }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'err', source: 'file:///etc' }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'err', source: `runs:/${runId}/../../x` }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'err' }, 400, 'INVALID_PARAMETER_VALUE'],
    ];
    for (const [body, status, code] of cases) {
      const res = await x.ml('POST', 'model-versions/create', { body });
      expect(mlError(res), JSON.stringify(body)).toMatchObject({ status, error_code: code });
    }
    const cross = await x.ml('POST', 'model-versions/create', {
      body: { name: 'err', source: `runs:/${betaRun}/model` },
    });
    expect(mlError(cross).message).toBe(`run '${betaRun}' is not a run of project 'alpha'`);
    expect(await x.counts()).toEqual(before);

    const missing = await x.ml('GET', 'model-versions/get', { query: { name: 'err', version: '9' } });
    expect(mlError(missing)).toEqual({
      status: 404,
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: 'Model Version (name=err, version=9) not found',
    });
    const bad = await x.ml('GET', 'model-versions/get', { query: { name: 'err', version: 'one' } });
    expect(mlError(bad)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
    const noModel = await x.ml('GET', 'model-versions/get', { query: { name: 'ghost', version: '1' } });
    expect(mlError(noModel)).toMatchObject({ status: 404, error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('an external source is recorded as given, and get-download-uri returns it', async () => {
    await model('external');
    await version('external', { source: 's3://bucket/models/m1', run_id: undefined });
    const uri = await x.ml('GET', 'model-versions/get-download-uri', {
      query: { name: 'external', version: '1' },
    });
    expect(uri.json()).toEqual({ artifact_uri: 's3://bucket/models/m1' });
  });

  it('update (PATCH), set-tag, delete-tag; delete needs a maintainer', async () => {
    await model('edit');
    await version('edit');
    const upd = await x.ml('PATCH', 'model-versions/update', {
      token: x.tokens.editor,
      body: { name: 'edit', version: '1', description: 'better' },
    });
    expect(upd.statusCode, upd.body).toBe(200);
    expect(upd.json().model_version.description).toBe('better');
    expect(
      (
        await x.ml('POST', 'model-versions/set-tag', {
          token: x.tokens.editor,
          body: { name: 'edit', version: '1', key: 'approved', value: 'no' },
        })
      ).json(),
    ).toEqual({});
    expect((await get('edit', '1')).tags).toEqual([{ key: 'approved', value: 'no' }]);
    const del = await x.ml('DELETE', 'model-versions/delete-tag', {
      body: { name: 'edit', version: '1', key: 'approved' },
    });
    expect(del.statusCode).toBe(200);
    expect((await get('edit', '1')).tags).toBeUndefined();
    const byEditor = await x.ml('DELETE', 'model-versions/delete', {
      token: x.tokens.editor,
      body: { name: 'edit', version: '1' },
    });
    expect(mlError(byEditor)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    const gone = await x.ml('DELETE', 'model-versions/delete', {
      token: x.tokens.maintainer,
      body: { name: 'edit', version: '1' },
    });
    expect(gone.statusCode, gone.body).toBe(200);
    expect(
      (await x.ml('GET', 'model-versions/get', { query: { name: 'edit', version: '1' } })).statusCode,
    ).toBe(404);
  });

  it('aliases: set, get by alias, listed on the model and the version, delete', async () => {
    await model('al');
    await version('al');
    await version('al');
    const set = await x.ml('POST', 'registered-models/alias', {
      token: x.tokens.editor,
      body: { name: 'al', alias: 'champion', version: '2' },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({});
    const by = await x.ml('GET', 'registered-models/alias', { query: { name: 'al', alias: 'champion' } });
    expect(by.json().model_version).toMatchObject({ name: 'al', version: '2', aliases: ['champion'] });
    const m = (await x.ml('GET', 'registered-models/get', { query: { name: 'al' } })).json().registered_model;
    expect(m.aliases).toEqual([{ alias: 'champion', version: '2' }]);
    // Moving it.
    await x.ml('POST', 'registered-models/alias', { body: { name: 'al', alias: 'champion', version: '1' } });
    expect((await get('al', '1')).aliases).toEqual(['champion']);
    expect((await get('al', '2')).aliases).toBeUndefined();
    const del = await x.ml('DELETE', 'registered-models/alias', { body: { name: 'al', alias: 'champion' } });
    expect(del.statusCode, del.body).toBe(200);
    const missing = await x.ml('GET', 'registered-models/alias', {
      query: { name: 'al', alias: 'champion' },
    });
    expect(mlError(missing)).toEqual({
      status: 400,
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'Registered model alias champion not found.',
    });
    const viewer = await x.ml('POST', 'registered-models/alias', {
      token: x.tokens.viewer,
      body: { name: 'al', alias: 'x', version: '1' },
    });
    expect(mlError(viewer)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
  });

  it('reserved and malformed alias names are INVALID_PARAMETER_VALUE; unknown versions 404; nothing changes', async () => {
    await model('names');
    await version('names');
    const before = await x.counts();
    for (const alias of [
      'latest',
      'LATEST',
      'Latest',
      'v1',
      'V12',
      'has space',
      'dot.ted',
      'a/b',
      'x'.repeat(256),
      '',
    ]) {
      const res = await x.ml('POST', 'registered-models/alias', {
        body: { name: 'names', alias, version: '1' },
      });
      expect(mlError(res), alias).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
    }
    const unknown = await x.ml('POST', 'registered-models/alias', {
      body: { name: 'names', alias: 'ok', version: '7' },
    });
    expect(mlError(unknown)).toMatchObject({ status: 404, error_code: 'RESOURCE_DOES_NOT_EXIST' });
    expect(await x.counts()).toEqual(before);
    for (const alias of ['v', 'vx', 'v1a', 'x'.repeat(255), 'a-b_c']) {
      const res = await x.ml('POST', 'registered-models/alias', {
        body: { name: 'names', alias, version: '1' },
      });
      expect(res.statusCode, alias).toBe(200);
    }
  });

  it('a protected alias (production) answers 403 PERMISSION_DENIED naming the promotion command, for every role', async () => {
    await model('prot');
    await version('prot');
    const before = await x.counts();
    for (const token of [x.tokens.editor, x.tokens.admin]) {
      const res = await x.ml('POST', 'registered-models/alias', {
        token,
        body: { name: 'prot', alias: 'production', version: '1' },
      });
      const e = mlError(res);
      expect(e).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
      expect(e.message).toContain('falaj models promote prot@1 --alias production');
    }
    const del = await x.ml('DELETE', 'registered-models/alias', {
      body: { name: 'prot', alias: 'production' },
    });
    expect(mlError(del)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    expect(await x.counts()).toEqual(before);
    // The refusal is in the audit trail.
    const denied = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['outcome', 'status'])
      .where('outcome', '=', 'denied')
      .where('status', '=', 403)
      .execute();
    expect(denied.length).toBeGreaterThanOrEqual(3);
  });

  it('transition-stage maps onto aliases: Staging moves alias staging, Production is protected, Archived removes', async () => {
    await model('st');
    await version('st');
    await version('st');
    const move = (v: string, stage: string, archive = false) =>
      x.ml('POST', 'model-versions/transition-stage', {
        token: x.tokens.editor,
        body: { name: 'st', version: v, stage, archive_existing_versions: archive },
      });
    const s1 = await move('1', 'Staging');
    expect(s1.statusCode, s1.body).toBe(200);
    expect(s1.json().model_version).toMatchObject({
      version: '1',
      current_stage: 'Staging',
      aliases: ['staging'],
    });
    // Another version to Staging, archiving the first: the alias moves, version 1 is Archived.
    const s2 = await move('2', 'staging', true);
    expect(s2.json().model_version).toMatchObject({ current_stage: 'Staging', aliases: ['staging'] });
    expect(await get('st', '1')).toMatchObject({ current_stage: 'Archived' });
    expect((await get('st', '1')).aliases).toBeUndefined();
    // get-latest-versions by stage.
    const latest = await x.ml('POST', 'registered-models/get-latest-versions', {
      body: { name: 'st', stages: ['Staging'] },
    });
    expect(latest.json().model_versions.map((v: { version: string }) => v.version)).toEqual(['2']);
    const all = await x.ml('GET', 'registered-models/get-latest-versions', { query: { name: 'st' } });
    expect(all.json().model_versions.map((v: { current_stage: string }) => v.current_stage)).toEqual([
      'Staging',
      'Archived',
    ]);
    // Production is the protected alias.
    const before = await x.counts();
    const prod = await move('2', 'Production');
    expect(mlError(prod)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    expect(mlError(prod).message).toContain('falaj models promote st@2 --alias production');
    expect(await get('st', '2')).toMatchObject({ current_stage: 'Staging' });
    expect(await x.counts()).toEqual(before);
    const arch = await move('2', 'Archived');
    expect(arch.json().model_version.current_stage).toBe('Archived');
    expect(arch.json().model_version.aliases).toBeUndefined();
    const bad = await move('2', 'Shipped');
    expect(mlError(bad)).toEqual({
      status: 400,
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        'Invalid Model Version stage: Shipped. Value must be one of None, Staging, Production, Archived.',
    });
  });

  it('a version holding a protected alias cannot be deleted; models:/NAME/N resolves through v1', async () => {
    await model('held');
    await version('held');
    const m = await x.t.svc.store.db
      .selectFrom('registered_models')
      .selectAll()
      .where('name', '=', 'held')
      .executeTakeFirstOrThrow();
    const v = await x.t.svc.store.db
      .selectFrom('model_versions')
      .selectAll()
      .where('model_id', '=', m.id)
      .executeTakeFirstOrThrow();
    // What the promotion flow does after an approval.
    const { setAlias } = await import('../../src/registry/alias-store.js');
    await setAlias(x.t.svc.store.db, m.id, 'production', v.id, 'user:approver', x.t.clock.now());
    const res = await x.ml('DELETE', 'model-versions/delete', { body: { name: 'held', version: '1' } });
    expect(mlError(res)).toMatchObject({ status: 403, error_code: 'PERMISSION_DENIED' });
    const resolved = await x.t.request(
      'GET',
      '/api/v1/projects/alpha/models/resolve?uri=models:/held@production',
      {
        token: x.tokens.viewer,
      },
    );
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json().version).toMatchObject({ name: 'held', version: 1, aliases: ['production'] });
  });
});

describe.each(DIALECTS)('MLflow model-versions search on %s', (dialect) => {
  let x: RegistryTest;
  const runs: string[] = [];
  beforeAll(async () => {
    x = await setupRegistry(dialect);
    for (let i = 0; i < 3; i++) runs.push(await x.run());
    for (const name of ['alpha_m', 'beta_m', 'gamma%m']) {
      await x.ml('POST', 'registered-models/create', { body: { name } });
      for (let i = 0; i < 3; i++) {
        x.t.clock.advance(1000);
        const res = await x.ml('POST', 'model-versions/create', {
          body: {
            name,
            source: `runs:/${runs[i]}/model_${i}`,
            run_id: runs[i],
            tags: [{ key: 'pos', value: String(i) }],
          },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
    }
  });
  afterAll(async () => x?.close());

  const search = async (query: Record<string, string | string[]>) => {
    const res = await x.ml('GET', 'model-versions/search', { query });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { model_versions?: { name: string; version: string }[]; next_page_token?: string };
  };
  const ids = async (filter: string, extra: Record<string, string | string[]> = {}) =>
    ((await search({ filter, ...extra })).model_versions ?? []).map((v) => `${v.name}/${v.version}`);

  it('no filter: all versions, by name ASC then version DESC', async () => {
    expect(await ids('')).toEqual([
      'alpha_m/3',
      'alpha_m/2',
      'alpha_m/1',
      'beta_m/3',
      'beta_m/2',
      'beta_m/1',
      'gamma%m/3',
      'gamma%m/2',
      'gamma%m/1',
    ]);
  });

  it('name, version_number, run_id (incl. IN), source_path, tags; LIKE with \\ escapes', async () => {
    expect(await ids("name = 'beta_m'")).toEqual(['beta_m/3', 'beta_m/2', 'beta_m/1']);
    expect(await ids("name = 'beta_m' AND version_number > 1")).toEqual(['beta_m/3', 'beta_m/2']);
    expect(await ids("name = 'beta_m' AND version_number <= 2")).toEqual(['beta_m/2', 'beta_m/1']);
    expect(await ids("name = 'beta_m' AND version_number != 2")).toEqual(['beta_m/3', 'beta_m/1']);
    expect(await ids(`run_id = '${runs[0]}'`)).toEqual(['alpha_m/1', 'beta_m/1', 'gamma%m/1']);
    expect(await ids(`run_id IN ('${runs[0]}', '${runs[2]}') AND name LIKE 'a%'`)).toEqual([
      'alpha_m/3',
      'alpha_m/1',
    ]);
    expect(await ids("source_path LIKE '%/model\\_1'")).toEqual(['alpha_m/2', 'beta_m/2', 'gamma%m/2']);
    expect(await ids("name LIKE 'gamma\\%%' AND tags.pos = '2'")).toEqual(['gamma%m/3']);
    expect(await ids("name LIKE '%\\_m'")).toEqual([
      'alpha_m/3',
      'alpha_m/2',
      'alpha_m/1',
      'beta_m/3',
      'beta_m/2',
      'beta_m/1',
    ]);
    expect(await ids("name ILIKE 'ALPHA%' AND tags.`pos` != '0'")).toEqual(['alpha_m/3', 'alpha_m/2']);
  });

  it.each([
    "name IN ('alpha_m')",
    "version_number LIKE '1'",
    "version_number = 'x'",
    "run_id = 'a' OR run_id = 'b'",
    'stage = 1',
    "tags.pos > '1'",
  ])('refuses %s', async (filter) => {
    const res = await x.ml('GET', 'model-versions/search', { query: { filter } });
    expect(mlError(res)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
  });

  it('order_by and pages', async () => {
    expect(await ids("name = 'alpha_m'", { order_by: 'version_number ASC' })).toEqual([
      'alpha_m/1',
      'alpha_m/2',
      'alpha_m/3',
    ]);
    expect((await ids('', { order_by: 'creation_timestamp DESC' })).slice(0, 2)).toEqual([
      'gamma%m/3',
      'gamma%m/2',
    ]);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await search({ max_results: '4', ...(token ? { page_token: token } : {}) });
      seen.push(...(page.model_versions ?? []).map((v) => `${v.name}/${v.version}`));
      token = page.next_page_token;
    } while (token);
    expect(seen).toEqual(await ids(''));
    const tooMany = await x.ml('GET', 'model-versions/search', { query: { max_results: '200001' } });
    expect(mlError(tooMany)).toMatchObject({ status: 400, error_code: 'INVALID_PARAMETER_VALUE' });
  });
});
