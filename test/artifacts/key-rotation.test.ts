// Key rotation on each dialect: a new key version, every data key and TOTP secret re-wrapped
// under it, data files untouched, and everything still readable. Also the master-key-sealed keyring.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyUsage, rotateKeys } from '../../src/artifacts/key-rotation.js';
import { LocalArtifactStore } from '../../src/artifacts/local-artifact-store.js';
import { FalajError } from '../../src/core/errors.js';
import { mfaContext } from '../../src/security/auth/second-factor.js';
import { Keyring } from '../../src/security/secrets/keyring.js';
import { resolveSecrets } from '../../src/security/secrets/project-secrets.js';
import { createTestContext, type TestContext } from '../support/app.js';
import { DIALECTS } from '../support/dialects.js';
import { drain, fileHash, tempStore } from './helpers.js';

describe.each(DIALECTS)('key rotation on %s', (dialect) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(dialect);
    expect(
      (await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'keys' } }))
        .statusCode,
    ).toBe(201);
  });
  afterAll(async () => t?.close());

  const upload = (p: string, body: Buffer) =>
    t.app.inject({
      method: 'PUT',
      url: `/api/v1/projects/keys/artifacts/files/${p}`,
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' },
      payload: body,
    });
  const download = (p: string) =>
    t.app.inject({
      method: 'GET',
      url: `/api/v1/projects/keys/artifacts/files/${p}`,
      headers: { authorization: `Bearer ${t.adminToken}` },
    });

  it('re-wraps sidecars and TOTP secrets under a new version without touching data files', async () => {
    const store = t.svc.artifacts as LocalArtifactStore;
    const contents = [randomBytes(0), randomBytes(1234), randomBytes(200_000)];
    const digests: string[] = [];
    for (const [i, body] of contents.entries()) {
      const res = await upload(`before/${i}`, body);
      expect(res.statusCode).toBe(201);
      digests.push(res.json().digest);
    }
    // A user with a sealed TOTP secret, as MFA enrolment stores it.
    await t.userWithSession('mfa-user');
    const user = await t.svc.store.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'mfa-user')
      .executeTakeFirstOrThrow();
    const secret = 'JBSWY3DPEHPK3PXP';
    await t.svc.store.db
      .updateTable('users')
      .set({ mfa_secret: t.svc.keyring.wrap(Buffer.from(secret), mfaContext(user.id)) })
      .where('id', '=', user.id)
      .execute();

    // A project secret, set through the API: sealed under version 1.
    const put = await t.request('PUT', '/api/v1/projects/keys/secrets/db-password', {
      token: t.adminToken,
      body: { value: 's3cret value' },
    });
    expect(put.statusCode, put.body).toBe(200);

    const dataBefore = digests.map((d) => {
      const file = store.objectPaths(d).data;
      const st = statSync(file);
      return { hash: fileHash(file), mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
    });
    expect(t.svc.keyring.currentVersion).toBe(1);

    const report = await rotateKeys(t.svc, 'test');
    expect(report).toEqual({
      previousVersion: 1,
      version: 2,
      artifacts: { rewrapped: 3, total: 3, failed: [] },
      mfaSecrets: { rewrapped: 1, total: 1, failed: [] },
      projectSecrets: { rewrapped: 1, total: 1, failed: [] },
    });
    const project = await t.svc.store.db
      .selectFrom('projects')
      .select('id')
      .where('name', '=', 'keys')
      .executeTakeFirstOrThrow();
    const sec = await t.svc.store.db.selectFrom('project_secrets').select('sealed').executeTakeFirstOrThrow();
    expect(sec.sealed).toMatch(/^v2:/);
    expect(await resolveSecrets(t.svc.store.db, t.svc.keyring, project.id, { DB: 'db-password' })).toEqual({
      DB: 's3cret value',
    });
    expect(t.svc.keyring.versions).toEqual([1, 2]); // the old version stays

    for (const [i, d] of digests.entries()) {
      const p = store.objectPaths(d);
      expect(JSON.parse(readFileSync(p.sidecar, 'utf8')).key).toMatch(/^v2:/);
      const st = statSync(p.data);
      expect({ hash: fileHash(p.data), mtimeMs: st.mtimeMs, ino: st.ino, size: st.size }).toEqual(
        dataBefore[i],
      );
      const back = await download(`before/${i}`);
      expect(back.statusCode).toBe(200);
      expect(back.rawPayload.equals(contents[i]!)).toBe(true);
    }
    const sealed = await t.svc.store.db
      .selectFrom('users')
      .select('mfa_secret')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(sealed.mfa_secret).toMatch(/^v2:/);
    expect(t.svc.keyring.unwrap(sealed.mfa_secret!, mfaContext(user.id)).toString()).toBe(secret);

    // New uploads are wrapped under the new version; old and new both read.
    const after = randomBytes(5000);
    const res = await upload('after/0', after);
    expect(res.statusCode).toBe(201);
    expect(JSON.parse(readFileSync(store.objectPaths(res.json().digest).sidecar, 'utf8')).key).toMatch(
      /^v2:/,
    );
    expect((await download('after/0')).rawPayload.equals(after)).toBe(true);

    const usage = await keyUsage(t.svc);
    expect(
      usage.map((u) => ({
        version: u.version,
        current: u.current,
        artifacts: u.artifacts,
        mfa: u.mfaSecrets,
      })),
    ).toEqual([
      { version: 1, current: false, artifacts: 0, mfa: 0 },
      { version: 2, current: true, artifacts: 4, mfa: 1 },
    ]);

    const events = await t.svc.store.db
      .selectFrom('audit_events')
      .select(['actor', 'object_id', 'outcome'])
      .where('action', '=', 'keys.rotate')
      .execute();
    expect(events).toEqual([{ actor: 'test', object_id: 'v2', outcome: 'success' }]);
  });

  it('an artifact wrapped under a version the keyring no longer has is reported, not fatal', async () => {
    const store = t.svc.artifacts as LocalArtifactStore;
    const res = await upload('orphan', randomBytes(10));
    const sidecar = store.objectPaths(res.json().digest).sidecar;
    const s = JSON.parse(readFileSync(sidecar, 'utf8'));
    writeFileSync(sidecar, JSON.stringify({ ...s, key: s.key.replace(/^v\d+:/, 'v99:') }));
    const report = await rotateKeys(t.svc, 'test');
    expect(report.artifacts.failed).toEqual([
      expect.objectContaining({ id: res.json().digest, code: 'FALAJ_KEY_UNAVAILABLE' }),
    ]);
    expect(report.artifacts.rewrapped).toBe(report.artifacts.total - 1);
    writeFileSync(sidecar, JSON.stringify(s));
  });
});

describe('keyring sealed with FALAJ_MASTER_KEY', () => {
  const master = randomBytes(32).toString('base64');

  it('works with the right master key; the file alone holds no usable key', async () => {
    const t = tempStore({ masterKey: master });
    try {
      const data = randomBytes(100_000);
      const { digest } = await t.store.put(Readable.from([data]));
      const file = JSON.parse(readFileSync(path.join(t.dir, 'keys', 'keyring.json'), 'utf8')) as {
        keys: { key: string }[];
      };
      // Sealed: nonce + 32-byte key + tag, not the bare 32 bytes.
      expect(Buffer.from(file.keys[0]!.key, 'base64').length).toBe(12 + 32 + 16);

      // A restart with the same master key reads everything back.
      const reopened = new LocalArtifactStore(path.join(t.dir, 'artifacts'), Keyring.open(t.dir, master));
      expect((await drain(await reopened.get(digest))).data.equals(data)).toBe(true);

      // Rotation under a master key keeps the new version sealed too.
      const ring = Keyring.open(t.dir, master);
      ring.addVersion();
      const rewrapStore = new LocalArtifactStore(path.join(t.dir, 'artifacts'), ring);
      expect(await rewrapStore.rewrapKeys()).toMatchObject({ rewrapped: 1, total: 1 });
      expect((await drain(await rewrapStore.get(digest))).data.equals(data)).toBe(true);
      const again = JSON.parse(readFileSync(path.join(t.dir, 'keys', 'keyring.json'), 'utf8')) as {
        keys: { key: string }[];
      };
      for (const k of again.keys) expect(Buffer.from(k.key, 'base64').length).toBe(60);
    } finally {
      t.dispose();
    }
  });

  it('a wrong master key is refused at start; no master key reads nothing', async () => {
    const t = tempStore({ masterKey: master });
    try {
      const { digest } = await t.store.put(Readable.from([Buffer.from('secret model weights')]));
      const wrong = randomBytes(32).toString('base64');
      expect(() => Keyring.open(t.dir, wrong)).toThrow(FalajError);
      try {
        Keyring.open(t.dir, wrong);
      } catch (err) {
        expect((err as FalajError).code).toBe('FALAJ_CONFIG');
      }
      expect(() => Keyring.open(t.dir, 'too-short')).toThrow(/32 bytes/);
      // Without the master key the sealed key material is not a key: an error, never plaintext.
      const bare = new LocalArtifactStore(path.join(t.dir, 'artifacts'), Keyring.open(t.dir));
      await expect(bare.get(digest)).rejects.toMatchObject({ code: 'FALAJ_ARTIFACT_INTEGRITY' });
    } finally {
      t.dispose();
    }
  });
});
