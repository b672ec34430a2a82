import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLease, releaseLease } from '../../../src/jobs/loop/lease.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { createSandbox, DIALECTS, type Sandbox } from '../../support/dialects.js';

// The scheduler's lease: with several servers on one database exactly one schedules. Two stores
// over the same database stand for two servers.
describe.each(DIALECTS)('scheduler lease on %s', (dialect) => {
  let sb: Sandbox;
  let a: Store;
  let b: Store;
  beforeAll(async () => {
    sb = await createSandbox(dialect);
    a = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
    b = await openStore({ dataDir: sb.dataDir, databaseUrl: sb.databaseUrl });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await sb?.dispose();
  });

  it('is held by one holder until it expires or is released', async () => {
    expect(await acquireLease(a.db, 'scheduler', 'server-a', 1000, 15_000)).toBe(true);
    expect(await acquireLease(b.db, 'scheduler', 'server-b', 2000, 15_000)).toBe(false);
    // The holder renews it; the other still cannot take it before it expires.
    expect(await acquireLease(a.db, 'scheduler', 'server-a', 10_000, 15_000)).toBe(true);
    expect(await acquireLease(b.db, 'scheduler', 'server-b', 20_000, 15_000)).toBe(false);
    // Server a stops renewing (crashed): after expiry b takes over, and a cannot come back.
    expect(await acquireLease(b.db, 'scheduler', 'server-b', 25_001, 15_000)).toBe(true);
    expect(await acquireLease(a.db, 'scheduler', 'server-a', 26_000, 15_000)).toBe(false);
    await releaseLease(b.db, 'scheduler', 'server-b');
    expect(await acquireLease(a.db, 'scheduler', 'server-a', 27_000, 15_000)).toBe(true);
  });

  it('goes to exactly one of many racing for it', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => acquireLease(i % 2 ? a.db : b.db, 'race', `s${i}`, 5000, 15_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
