// Webhooks against a real HTTP receiver started here: every registry event a hook subscribes to
// is enqueued in the transaction of its change, POSTed with an HMAC-SHA256 signature the
// receiver checks on its own (node:crypto), retried with exponential backoff when the receiver
// fails (twice, then answers), and logged. Both dialects.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryRuntime } from '../../../src/registry/module.js';
import { decidePromotion } from '../../../src/registry/staging/promotion-store.js';
import { DIALECTS } from '../../support/dialects.js';
import { falajOnnx } from '../helpers.js';
import { errorCode, MODELS, P, type StagingTest, setupStaging } from './helpers.js';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A receiver that answers 500 to its first `failures` requests, then 204. */
async function receiver(failures: number): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  let seen = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      seen++;
      res.statusCode = seen <= failures ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

function verify(secret: string, r: Received): boolean {
  const header = String(r.headers['x-falaj-signature-256'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

describe.each(DIALECTS)('registry webhooks on %s', (dialect) => {
  let x: StagingTest;
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    x = await setupStaging(dialect);
    hook = await receiver(2);
  });
  afterAll(async () => {
    await x?.close();
    await new Promise((resolve) => hook?.server.close(resolve));
  });

  const upload = (name: string) =>
    x.t.app.inject({
      method: 'POST',
      url: `${MODELS}/${name}/versions`,
      headers: { authorization: `Bearer ${x.as.alice}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.from(falajOnnx()),
    });

  it('only an admin configures webhooks; a generated secret is shown once, never listed', async () => {
    expect((await x.call('bob', 'POST', `${P}/model-webhooks`, { url: hook.url })).statusCode).toBe(403);
    const bad = await x.call('dana', 'POST', `${P}/model-webhooks`, { url: 'ftp://example.com/x' });
    expect(errorCode(bad)).toBe('FALAJ_INVALID_ARGUMENT');
    const made = await x.call('dana', 'POST', `${P}/model-webhooks`, {
      url: hook.url,
      events: ['alias.changed'],
    });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json().secret).toMatch(/^whsec_/);
    const list = await x.call('dana', 'GET', `${P}/model-webhooks`);
    expect(list.body).not.toContain(made.json().secret);
    expect(list.json().webhooks).toHaveLength(1);
    // Stored sealed, not in the clear.
    const row = await x.t.svc.store.db.selectFrom('webhooks').select('secret').executeTakeFirstOrThrow();
    expect(row.secret).not.toContain(made.json().secret);
    await x.call('dana', 'DELETE', `${P}/model-webhooks/${made.json().id}`);
  });

  it('signs every delivery, retries a failing receiver with backoff, and logs the attempts', async () => {
    const secret = 'a-shared-secret-of-the-ci-system';
    const made = await x.call('dana', 'POST', `${P}/model-webhooks`, {
      url: hook.url,
      events: [
        'model_version.created',
        'promotion.requested',
        'promotion.approved',
        'promotion.rejected',
        'alias.changed',
      ],
      secret,
    });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json().secret).toBeUndefined();
    const id = made.json().id as string;

    // An event of a change that fails is never enqueued.
    const failed = await x.t.app.inject({
      method: 'POST',
      url: `${MODELS}/broken/versions`,
      headers: { authorization: `Bearer ${x.as.alice}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.from('not onnx'),
    });
    expect(failed.statusCode).toBe(400);
    expect((await x.call('dana', 'GET', `${P}/model-webhooks/${id}/deliveries`)).json().deliveries).toEqual(
      [],
    );

    expect((await upload('scorer')).statusCode).toBe(201);
    const dispatcher = registryRuntime(x.t.app).staging.dispatcher;
    expect(await dispatcher.pass()).toBe(1);
    expect(hook.got).toHaveLength(1);
    // Not due yet: the first retry waits the base delay.
    expect(await dispatcher.pass()).toBe(0);
    x.t.clock.advance(dispatcher.backoff(1));
    expect(await dispatcher.pass()).toBe(1);
    let log = (await x.call('dana', 'GET', `${P}/model-webhooks/${id}/deliveries`)).json().deliveries;
    expect(log[0]).toMatchObject({ state: 'pending', attempts: 2, lastStatus: 500 });
    expect(dispatcher.backoff(2)).toBe(2 * dispatcher.backoff(1));
    x.t.clock.advance(dispatcher.backoff(2) - 1);
    expect(await dispatcher.pass()).toBe(0);
    x.t.clock.advance(1);
    expect(await dispatcher.pass()).toBe(1);
    log = (await x.call('dana', 'GET', `${P}/model-webhooks/${id}/deliveries`)).json().deliveries;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      event: 'model_version.created',
      state: 'delivered',
      attempts: 3,
      lastStatus: 204,
      lastError: null,
    });

    expect(hook.got).toHaveLength(3);
    for (const r of hook.got) {
      expect(verify(secret, r)).toBe(true);
      expect(verify('another-secret-entirely-xxxxxxxx', r)).toBe(false);
      expect(r.headers['x-falaj-event']).toBe('model_version.created');
      expect(r.headers['x-falaj-delivery']).toBe(log[0].id);
      expect(r.headers['content-type']).toBe('application/json');
    }
    const body = JSON.parse(hook.got[0]?.body ?? '{}');
    expect(body).toMatchObject({
      event: 'model_version.created',
      project: 'alpha',
      data: { name: 'scorer', version: '1', format: 'onnx', user_id: 'alice' },
    });
    // A tampered body no longer matches its signature.
    expect(
      verify(secret, {
        ...(hook.got[0] as Received),
        body: hook.got[0]?.body.replace('scorer', 'scorex') ?? '',
      }),
    ).toBe(false);
  });

  it('announces promotions and the alias they move, each once', async () => {
    hook.got.length = 0;
    const req = await x.call('alice', 'POST', `${MODELS}/scorer/versions/1/promotions`, {
      alias: 'production',
    });
    expect(req.statusCode, req.body).toBe(201);
    const ok = await x.call('bob', 'POST', `${P}/model-promotions/${req.json().request.id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    const dispatcher = registryRuntime(x.t.app).staging.dispatcher;
    expect(await dispatcher.pass()).toBe(3);
    const events = hook.got.map(
      (r) => JSON.parse(r.body) as { event: string; data: Record<string, unknown> },
    );
    expect(events.map((e) => e.event).sort()).toEqual([
      'alias.changed',
      'promotion.approved',
      'promotion.requested',
    ]);
    expect(events.find((e) => e.event === 'alias.changed')?.data).toMatchObject({
      name: 'scorer',
      alias: 'production',
      from_version: null,
      to_version: '1',
    });
    expect(events.find((e) => e.event === 'promotion.approved')?.data).toMatchObject({
      request: { state: 'approved', requestedBy: 'alice', decidedBy: 'bob' },
    });
    expect(await dispatcher.pass()).toBe(0);
  });

  it('gives up after the last attempt, and an admin can queue it again', async () => {
    const dead = await x.call('dana', 'POST', `${P}/model-webhooks`, {
      url: 'http://127.0.0.1:9/nothing-listens-here',
      events: ['model_version.created'],
    });
    const id = dead.json().id as string;
    expect((await upload('scorer')).statusCode).toBe(201);
    const dispatcher = registryRuntime(x.t.app).staging.dispatcher;
    for (let attempt = 1; attempt <= 8; attempt++) {
      expect(await dispatcher.pass()).toBeGreaterThanOrEqual(1);
      x.t.clock.advance(dispatcher.backoff(attempt));
    }
    const log = (await x.call('dana', 'GET', `${P}/model-webhooks/${id}/deliveries?state=failed`)).json()
      .deliveries;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ state: 'failed', attempts: 8, lastStatus: null });
    expect(log[0].lastError).toMatch(/cannot reach the receiver/);
    const again = await x.call('dana', 'POST', `${P}/model-webhooks/${id}/deliveries/${log[0].id}/redeliver`);
    expect(again.statusCode, again.body).toBe(200);
    expect(
      (await x.call('dana', 'GET', `${P}/model-webhooks/${id}/deliveries?state=pending`)).json().deliveries,
    ).toHaveLength(1);
    await x.call('dana', 'DELETE', `${P}/model-webhooks/${id}`);
  });

  it('of two transactions deciding one request, exactly one changes it', async () => {
    const req = await x.call('alice', 'POST', `${MODELS}/scorer/versions/2/promotions`, {
      alias: 'production',
    });
    expect(req.statusCode, req.body).toBe(201);
    const id = req.json().request.id as string;
    const db = x.t.svc.store.db;
    const decide = (by: string) =>
      db
        .transaction()
        .execute((tx) => decidePromotion(tx, id, { state: 'approved', by, at: 1, reason: null }));
    const results = await Promise.all([decide('bob'), decide('carol')]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
