import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/core/config.js';
import {
  delayMs,
  LOCK_AFTER,
  LOCK_MS,
  MAX_DELAY_MS,
  RESERVATION_MS,
  SLOW_AFTER,
} from '../../../src/security/auth/login-throttle.js';
import { observePasswordChecks } from '../../../src/security/auth/passwords.js';
import { totpAt } from '../../../src/security/auth/totp.js';
import { buildApp } from '../../../src/server/app.js';
import { createServices } from '../../../src/server/services-factory.js';
import { createTestContext, type TestApp, type TestContext } from '../../support/app.js';
import { DIALECTS } from '../../support/dialects.js';
import { enableMfa, errorCode, passwordOf } from './helpers.js';

const STRANGER = '203.0.113.7';
const OWNER_DESK = '198.51.100.20';

/** How many of each status code, e.g. { 401: 5, 429: 35 }. */
const tally = (responses: LightMyRequestResponse[]) =>
  responses.reduce<Record<number, number>>((acc, r) => {
    acc[r.statusCode] = (acc[r.statusCode] ?? 0) + 1;
    return acc;
  }, {});

describe.each(DIALECTS)('the login throttle under bursts and from several addresses on %s', (dialect) => {
  let t: TestContext;
  let checks = 0; // password hashes computed, seen through the test hook
  let stopObserving: () => void;
  beforeAll(async () => {
    t = await createTestContext(dialect);
    t.clock.advance(10_000); // mid TOTP step
    stopObserving = observePasswordChecks(() => checks++);
  });
  afterAll(async () => {
    stopObserving?.();
    await t?.close();
  });

  const login = (
    username: string,
    password: string,
    from = '127.0.0.1',
    extra: Record<string, string> = {},
    app: TestApp = t.app,
  ) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password, ...extra },
      remoteAddress: from,
    });

  /** `size` logins at once, all wrong but the one at `rightAt`, spread over `apps` in turn. */
  const burst = (username: string, size: number, rightAt: number, apps: TestApp[] = [t.app]) =>
    Promise.all(
      Array.from({ length: size }, (_, i) =>
        login(
          username,
          i === rightAt ? passwordOf(username) : `wrong-guess-${i}`,
          STRANGER,
          {},
          apps[i % apps.length],
        ),
      ),
    );

  /** A new user; `checks` counts from zero afterwards. */
  async function freshUser(name: string): Promise<void> {
    await t.userWithSession(name);
    checks = 0;
  }

  /** Asserts the burst got exactly SLOW_AFTER checks, all failures, and that the right password was refused. */
  function expectHeldAtThreshold(responses: LightMyRequestResponse[], rightAt: number): void {
    expect(checks).toBe(SLOW_AFTER);
    expect(tally(responses)).toEqual({ 401: SLOW_AFTER, 429: responses.length - SLOW_AFTER });
    expect(errorCode(responses[rightAt]!, 429)).toBe('FALAJ_LOGIN_THROTTLED');
  }

  for (const size of [40, 60, 150]) {
    it(`a burst of ${size} with the right password late in it: ${SLOW_AFTER} checks, no login`, async () => {
      const name = `late-${size}`;
      await freshUser(name);
      const rightAt = Math.floor((size * 3) / 4);
      expectHeldAtThreshold(await burst(name, size, rightAt), rightAt);
      // The threshold is reached: the right password alone is refused too, without a check.
      expect(errorCode(await login(name, passwordOf(name), STRANGER), 429)).toBe('FALAJ_LOGIN_THROTTLED');
      expect(checks).toBe(SLOW_AFTER);
    });

    it(`a burst of ${size} with the right password just past the threshold: refused`, async () => {
      const name = `next-${size}`;
      await freshUser(name);
      expectHeldAtThreshold(await burst(name, size, SLOW_AFTER), SLOW_AFTER);
    });
  }

  it('within the allowance the right password still logs in, even in a burst', async () => {
    await freshUser('early');
    const responses = await burst('early', 40, SLOW_AFTER - 1);
    expect(responses[SLOW_AFTER - 1]!.statusCode).toBe(200);
    // The success cleared the counts, so the rest of the burst had the allowance again.
    expect(checks).toBe(2 * SLOW_AFTER);
    expect(tally(responses)).toEqual({ 200: 1, 401: 2 * SLOW_AFTER - 1, 429: 40 - 2 * SLOW_AFTER });
  });

  it.runIf(dialect === 'postgres')(
    'holds across two servers on one database (the reservation is in the database)',
    async () => {
      const config = resolveConfig(
        { dataDir: t.sandbox.dataDir, databaseUrl: t.sandbox.databaseUrl, logLevel: 'silent' },
        {},
      );
      const svc2 = await createServices(config, t.clock);
      const app2 = await buildApp(svc2);
      try {
        await app2.ready();
        for (const size of [40, 150]) {
          const name = `two-servers-${size}`;
          await freshUser(name);
          const rightAt = size - 2;
          const responses = await burst(name, size, rightAt, [t.app, app2]);
          expect(checks).toBe(SLOW_AFTER);
          expect(tally(responses)).toEqual({ 401: SLOW_AFTER, 429: size - SLOW_AFTER });
        }
      } finally {
        await app2.close();
        await svc2.store.close();
      }
    },
  );

  it(`${LOCK_AFTER} failures from one address lock that address; the owner elsewhere is only slowed`, async () => {
    await t.userWithSession('boss', { owner: true });
    let wait = 0;
    for (let failures = 0; failures < LOCK_AFTER; failures++) {
      t.clock.advance(wait);
      expect(errorCode(await login('boss', 'a-strangers-guess', STRANGER), 401)).toBe(
        'FALAJ_INVALID_CREDENTIALS',
      );
      wait = delayMs(failures + 1);
    }
    const locked = await login('boss', passwordOf('boss'), STRANGER);
    expect(errorCode(locked, 423)).toBe('FALAJ_ACCOUNT_LOCKED');
    expect(Date.parse(locked.json().error.details.lockedUntil)).toBe(t.clock.now() + LOCK_MS);

    // From the owner's desk the same username is slowed by the count of every address, not locked.
    const slowed = await login('boss', passwordOf('boss'), OWNER_DESK);
    expect(errorCode(slowed, 429)).toBe('FALAJ_LOGIN_THROTTLED');
    expect(slowed.json().error.details).toEqual({ retryAfterSeconds: delayMs(LOCK_AFTER) / 1000 });
    t.clock.advance(delayMs(LOCK_AFTER));
    expect((await login('boss', passwordOf('boss'), OWNER_DESK)).statusCode).toBe(200);

    // The owner's success clears the counts of their address and of every address, not the
    // stranger's lock.
    expect(errorCode(await login('boss', passwordOf('boss'), STRANGER), 423)).toBe('FALAJ_ACCOUNT_LOCKED');
    t.clock.advance(LOCK_MS);
    // After the lock, the stranger's address is on probation: one more failure locks it again.
    expect(errorCode(await login('boss', 'a-strangers-guess', STRANGER), 401)).toBe(
      'FALAJ_INVALID_CREDENTIALS',
    );
    expect(errorCode(await login('boss', passwordOf('boss'), STRANGER), 423)).toBe('FALAJ_ACCOUNT_LOCKED');
    expect((await login('boss', passwordOf('boss'), OWNER_DESK)).statusCode).toBe(200);
  });

  it('guesses from many addresses are slowed for the username, the wait capped, no address locked', async () => {
    await freshUser('spread');
    const guesses = 3 * LOCK_AFTER;
    for (let failures = 0; failures < guesses; failures++) {
      t.clock.advance(delayMs(failures));
      expect(errorCode(await login('spread', 'wrong', `192.0.2.${failures}`), 401)).toBe(
        'FALAJ_INVALID_CREDENTIALS',
      );
    }
    // A new address gains nothing: the wait of every address applies, at its cap.
    const slowed = await login('spread', passwordOf('spread'), OWNER_DESK);
    expect(errorCode(slowed, 429)).toBe('FALAJ_LOGIN_THROTTLED');
    expect(slowed.json().error.details).toEqual({ retryAfterSeconds: MAX_DELAY_MS / 1000 });
    t.clock.advance(MAX_DELAY_MS);
    expect((await login('spread', passwordOf('spread'), OWNER_DESK)).statusCode).toBe(200);
    expect(checks).toBe(guesses + 1);
  });

  it('twenty parallel logins with the right password and one code: one session, nineteen replays, nothing counted', async () => {
    const session = await t.userWithSession('tina');
    const { secret } = await enableMfa(t, session, passwordOf('tina'));
    t.clock.advance(30_000); // the activation used the current step
    const code = totpAt(secret, t.clock.now());
    checks = 0;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => login('tina', passwordOf('tina'), '127.0.0.1', { totp: code })),
    );
    expect(tally(responses)).toEqual({ 200: 1, 401: 19 });
    for (const r of responses.filter((r) => r.statusCode === 401))
      expect(r.json().error.code).toBe('FALAJ_TOTP_REPLAYED');
    expect(checks).toBe(20);
    expect(
      await t.svc.store.db.selectFrom('login_attempts').selectAll().where('username', '=', 'tina').execute(),
    ).toEqual([]);
    // Not locked, not slowed: the next code logs in at once.
    t.clock.advance(30_000);
    const next = await login('tina', passwordOf('tina'), '127.0.0.1', {
      totp: totpAt(secret, t.clock.now()),
    });
    expect(next.statusCode).toBe(200);
  });

  it('a burst of password guesses through a session (MFA enrolment) shares the login throttle', async () => {
    const session = await t.userWithSession('sid');
    checks = 0;
    const enrolments = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/mfa/enroll',
          headers: { authorization: `Bearer ${session}` },
          payload: { password: `guess-${i}` },
          remoteAddress: STRANGER,
        }),
      ),
    );
    expect(checks).toBe(SLOW_AFTER);
    expect(tally(enrolments)).toEqual({ 401: SLOW_AFTER, 429: 40 - SLOW_AFTER });
    expect(errorCode(await login('sid', passwordOf('sid'), STRANGER), 429)).toBe('FALAJ_LOGIN_THROTTLED');
  });

  it('a reservation left by a dead server is taken over once its time is over', async () => {
    await freshUser('orphan');
    await t.svc.store.db
      .insertInto('login_attempts')
      .values({
        username: 'orphan',
        source: '*',
        failures: 0,
        last_failure_at: null,
        locked_until: null,
        reserved_by: 'a-server-that-died',
        reserved_until: t.clock.now() + RESERVATION_MS,
      })
      .execute();
    const pending = login('orphan', passwordOf('orphan'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(checks).toBe(0); // waiting for the reservation, not checking
    t.clock.advance(RESERVATION_MS);
    expect((await pending).statusCode).toBe(200);
    expect(checks).toBe(1);
    expect(
      await t.svc.store.db
        .selectFrom('login_attempts')
        .selectAll()
        .where('username', '=', 'orphan')
        .execute(),
    ).toEqual([]);
  });
});
