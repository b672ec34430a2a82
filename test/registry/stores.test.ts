// The registry's stores on both dialects: models, versions (numbering under concurrency),
// aliases and model URIs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FalajError } from '../../src/core/errors.js';
import {
  aliasesOf,
  aliasesOfVersion,
  deleteAlias,
  getAlias,
  setAlias,
  validateAlias,
} from '../../src/registry/alias-store.js';
import {
  createModel,
  deleteModel,
  getModel,
  isProtectedAlias,
  modelTags,
  renameModel,
} from '../../src/registry/model-store.js';
import { parseModelUri, resolveModelUri } from '../../src/registry/model-uri.js';
import {
  createVersion,
  getVersion,
  latestVersionsPerStage,
  listVersions,
  setVersionStage,
  versionTags,
} from '../../src/registry/version-store.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createSandbox, DIALECTS, type Sandbox } from '../support/dialects.js';

function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof FalajError ? e.code : `not a FalajError: ${String(e)}`),
  );
}

describe.each(DIALECTS)('registry stores on %s', (dialect) => {
  let sb: Sandbox;
  let store: Store;
  const P = 'p1';
  const Q = 'p2';
  beforeAll(async () => {
    sb = await createSandbox(dialect);
    store = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    for (const id of [P, Q])
      await store.db
        .insertInto('projects')
        .values({ id, name: id, description: '', created_at: 1, created_by: 'test' })
        .execute();
  });
  afterAll(async () => {
    await store.close();
    await sb.dispose();
  });

  const version = (modelId: string, now = 10) =>
    createVersion(store.db, {
      modelId,
      source: 'x',
      userId: 'u',
      artifactPath: 'p',
      format: 'falaj',
      now,
    });

  it('creates, refuses a duplicate name in the project (not in another), renames, tags', async () => {
    const m = await createModel(store.db, {
      projectId: P,
      name: 'fraud',
      userId: 'alice',
      tags: [
        { key: 'b', value: '1' },
        { key: 'a', value: '2' },
        { key: 'b', value: '3' },
      ],
      now: 5,
    });
    expect(m.protected_aliases).toBe('["production"]');
    expect(isProtectedAlias(m, 'production')).toBe(true);
    expect(isProtectedAlias(m, 'staging')).toBe(false);
    expect(await codeOf(createModel(store.db, { projectId: P, name: 'fraud', userId: 'x', now: 6 }))).toBe(
      'FALAJ_MODEL_EXISTS',
    );
    await createModel(store.db, { projectId: Q, name: 'fraud', userId: 'x', now: 6 });
    expect((await modelTags(store.db, [m.id])).get(m.id)).toEqual([
      { key: 'a', value: '2' },
      { key: 'b', value: '3' },
    ]);
    await createModel(store.db, { projectId: P, name: 'other', userId: 'x', now: 6 });
    expect(await codeOf(renameModel(store.db, P, 'fraud', 'other', 7))).toBe('FALAJ_MODEL_EXISTS');
    expect(await codeOf(renameModel(store.db, P, 'nope', 'x', 7))).toBe('FALAJ_MODEL_NOT_FOUND');
    const r = await renameModel(store.db, P, 'fraud', 'fraud2', 7);
    expect(r.name).toBe('fraud2');
    expect((await getModel(store.db, P, 'fraud2')).updated_at).toBe(7);
  });

  it('numbers versions from 1 and never twice, even when registrations race', async () => {
    const m = await createModel(store.db, { projectId: P, name: 'race', userId: 'u', now: 1 });
    // Each registration in its own transaction, all at once.
    const made = await Promise.all(
      Array.from({ length: 12 }, () =>
        store.db.transaction().execute((tx) =>
          createVersion(tx, {
            modelId: m.id,
            source: 's',
            userId: 'u',
            artifactPath: 'p',
            format: 'falaj',
            now: 2,
          }),
        ),
      ),
    );
    expect(made.map((v) => v.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    expect((await listVersions(store.db, m.id)).map((v) => v.version)[0]).toBe(12);
  });

  it('aliases: set, move, delete; reserved and malformed names refused', async () => {
    const m = await createModel(store.db, { projectId: P, name: 'al', userId: 'u', now: 1 });
    const v1 = await version(m.id);
    const v2 = await version(m.id);
    await setAlias(store.db, m.id, 'champion', v1.id, 'user:a', 3);
    await setAlias(store.db, m.id, 'champion', v2.id, 'user:b', 4);
    await setAlias(store.db, m.id, 'b-side', v1.id, 'user:b', 4);
    expect((await aliasesOf(store.db, m.id)).map((a) => [a.alias, a.version, a.updatedBy])).toEqual([
      ['b-side', 1, 'user:b'],
      ['champion', 2, 'user:b'],
    ]);
    expect(await aliasesOfVersion(store.db, v1.id)).toEqual(['b-side']);
    expect(await deleteAlias(store.db, m.id, 'b-side')).toBe(true);
    expect(await deleteAlias(store.db, m.id, 'b-side')).toBe(false);
    expect(await getAlias(store.db, m.id, 'b-side')).toBeUndefined();
    for (const bad of ['latest', 'LaTeSt', 'v1', 'V12', 'a b', 'a.b', 'x'.repeat(256), ''])
      expect(() => validateAlias(bad), bad).toThrow(FalajError);
    for (const good of ['v', 'v1a', 'vx1', 'prod_2', 'a-b', 'x'.repeat(255)])
      expect(validateAlias(good)).toBe(good);
  });

  it('resolves every URI form; unknown names, versions and aliases have their codes', async () => {
    const m = await createModel(store.db, { projectId: P, name: 'uri', userId: 'u', now: 1 });
    const v1 = await version(m.id);
    const v2 = await version(m.id);
    await version(m.id);
    await setAlias(store.db, m.id, 'champion', v2.id, 'user:a', 3);
    await setVersionStage(store.db, v1.id, 'Staging', 4);
    const num = async (uri: string) => (await resolveModelUri(store.db, P, uri)).version;
    expect(await num('models:/uri@champion')).toBe(2);
    expect(await num('models:/uri/1')).toBe(1);
    expect(await num('models:/uri/latest')).toBe(3);
    expect(await num('models:/uri/staging')).toBe(1);
    expect(await num('models:/uri/Staging')).toBe(1);
    expect(await num('uri@champion')).toBe(2);
    expect(await num('uri@2')).toBe(2);
    expect(await num('uri@latest')).toBe(3);
    expect(await codeOf(resolveModelUri(store.db, P, 'models:/uri/Production'))).toBe(
      'FALAJ_MODEL_VERSION_NOT_FOUND',
    );
    expect(await codeOf(resolveModelUri(store.db, P, 'models:/uri/9'))).toBe('FALAJ_MODEL_VERSION_NOT_FOUND');
    expect(await codeOf(resolveModelUri(store.db, P, 'models:/uri@nope'))).toBe('FALAJ_ALIAS_NOT_FOUND');
    expect(await codeOf(resolveModelUri(store.db, P, 'models:/none/1'))).toBe('FALAJ_MODEL_NOT_FOUND');
    // Another project's model of the same name is not visible.
    expect(await codeOf(resolveModelUri(store.db, Q, 'models:/uri/1'))).toBe('FALAJ_MODEL_NOT_FOUND');
    for (const bad of [
      '',
      'models:/',
      'models:/uri',
      'models:/uri/x',
      'models:/uri/1/2',
      'uri',
      'uri@',
      '@x',
    ])
      expect(() => parseModelUri(bad), bad).toThrow(FalajError);
    expect((await getVersion(store.db, m, 2)).id).toBe(v2.id);
  });

  it('latest versions per stage; deleting a model removes its versions, tags and aliases', async () => {
    const m = await createModel(store.db, {
      projectId: P,
      name: 'gone',
      userId: 'u',
      tags: [{ key: 'k', value: 'v' }],
      now: 1,
    });
    const v1 = await createVersion(store.db, {
      modelId: m.id,
      source: 's',
      userId: 'u',
      artifactPath: 'p',
      format: 'falaj',
      tags: [{ key: 't', value: '1' }],
      now: 2,
    });
    const v2 = await version(m.id);
    await version(m.id);
    await setVersionStage(store.db, v1.id, 'Production', 3);
    await setVersionStage(store.db, v2.id, 'Production', 3);
    await setAlias(store.db, m.id, 'champion', v1.id, 'user:a', 3);
    const latest = (await latestVersionsPerStage(store.db, [m.id])).get(m.id)!;
    expect(latest.map((v) => [v.stage, v.version])).toEqual([
      ['None', 3],
      ['Production', 2],
    ]);
    expect((await versionTags(store.db, [v1.id])).get(v1.id)).toEqual([{ key: 't', value: '1' }]);
    await deleteModel(store.db, m.id);
    expect(
      await store.db.selectFrom('model_version_tags').select('key').where('version_id', '=', v1.id).execute(),
    ).toEqual([]);
    expect(await codeOf(getModel(store.db, P, 'gone'))).toBe('FALAJ_MODEL_NOT_FOUND');
    const left = await store.db
      .selectFrom('model_versions')
      .select('id')
      .where('model_id', '=', m.id)
      .execute();
    expect(left).toEqual([]);
    const leftAliases = await store.db
      .selectFrom('model_aliases')
      .select('alias')
      .where('model_id', '=', m.id)
      .execute();
    expect(leftAliases).toEqual([]);
    const leftTags = await store.db
      .selectFrom('registered_model_tags')
      .select('key')
      .where('model_id', '=', m.id)
      .execute();
    expect(leftTags).toEqual([]);
  });
});
