// `falaj audit verify` through the built CLI (npm run build first), against stores an intruder
// has tampered with, and against what a real server process left behind.
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/store.js';
import { createSandbox, DIALECTS, type DialectName } from '../../support/dialects.js';
import { loginAdmin, startServerProcess } from '../../support/server-process.js';
import { type Chain, chainOf, dropTriggers, renumber, runCli, swap } from './chain-support.js';

/** How the CLI is pointed at a store: SQLite through the data dir; PostgreSQL by URL and data dir. */
function target(dialect: DialectName, dataDir: string, databaseUrl: string | undefined): string[] {
  return dialect === 'sqlite'
    ? ['--data-dir', dataDir]
    : ['--database-url', databaseUrl!, '--data-dir', dataDir];
}

describe.each(DIALECTS)('falaj audit verify on %s', (dialect) => {
  let chain: Chain | undefined;
  afterEach(async () => {
    await chain?.close();
    chain = undefined;
  });
  const fresh = async () => {
    chain = await chainOf(dialect, 10);
    await chain.writer.checkpointNow();
    return chain;
  };
  const verify = (c: Chain, ...extra: string[]) =>
    runCli(['audit', 'verify', ...target(dialect, c.sandbox.dataDir, c.sandbox.databaseUrl), ...extra]);

  it('exits 0 on an intact chain, in words and in JSON', async () => {
    const c = await fresh();
    const text = await verify(c);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/audit chain intact: 10 events, head seq 10/);
    expect(text.stdout).toMatch(/1 signed checkpoints matched/);
    const json = await verify(c, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      events: 10,
      headSeq: 10,
      checkpointsChecked: 1,
    });
  });

  it('exits 2 naming an edited event', async () => {
    const c = await fresh();
    await dropTriggers(c.store);
    await c.store.db
      .updateTable('audit_events')
      .set({ outcome: 'success', status: 200 })
      .where('seq', '=', 4)
      .execute();
    const r = await verify(c);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('AUDIT CHAIN BROKEN at seq 4 (edited)');
    const json = await verify(c, '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problem: { seq: 4, kind: 'edited' } });
  });

  it('exits 2 naming a deleted event', async () => {
    const c = await fresh();
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '=', 6).execute();
    const r = await verify(c);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('at seq 6 (dropped)');
  });

  it('exits 2 naming reordered events', async () => {
    const c = await fresh();
    await dropTriggers(c.store);
    await swap(c.store, 2, 3);
    const r = await verify(c);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('at seq 2 (reordered)');
  });

  it('exits 2 naming a renumbered event', async () => {
    const c = await fresh();
    await dropTriggers(c.store);
    await renumber(c.store, 7, 77);
    const r = await verify(c);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('at seq 7 (reordered)');
  });

  it('exits 2 when the newest events were cut off (found through the checkpoints)', async () => {
    const c = await fresh();
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '>', 8).execute();
    const r = await verify(c);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('at seq 9 (truncated)');
    expect(r.stdout).toContain('9..10');
  });

  it('exits 2 on a tampered checkpoint', async () => {
    const c = await fresh();
    const { writeFileSync, readFileSync } = await import('node:fs');
    const { checkpointPaths } = await import('../../../src/security/audit/audit-checkpoints.js');
    const file = checkpointPaths(c.sandbox.dataDir).file;
    writeFileSync(file, readFileSync(file, 'utf8').replace('"seq":10', '"seq":11'));
    const r = await verify(c);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('(bad-signature)');
  });

  if (dialect === 'postgres') {
    it('reads FALAJ_DATABASE_URL when no --database-url is given', async () => {
      const c = await fresh();
      await dropTriggers(c.store);
      await c.store.db.deleteFrom('audit_events').where('seq', '=', 3).execute();
      const r = await runCli(['audit', 'verify', '--data-dir', c.sandbox.dataDir], {
        FALAJ_DATABASE_URL: c.sandbox.databaseUrl!,
      });
      expect(r.code).toBe(2);
      expect(r.stdout).toContain('at seq 3 (dropped)');
    });
  } else {
    it('reads FALAJ_DATA_DIR, and exits 1 where there is no store at all', async () => {
      const c = await fresh();
      const r = await runCli(['audit', 'verify'], { FALAJ_DATA_DIR: c.sandbox.dataDir });
      expect(r.code).toBe(0);
      const missing = await runCli(['audit', 'verify', '--data-dir', `${c.sandbox.dataDir}/nothing-here`]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('FALAJ_STORE_UNAVAILABLE');
    });
  }

  it('finds cut-off events in what a real server left behind (its checkpoints, written on stop)', async () => {
    const sandbox = await createSandbox(dialect);
    try {
      const server = await startServerProcess({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
      try {
        const token = await loginAdmin(server.url);
        for (const name of ['one', 'two']) {
          const res = await fetch(`${server.url}/api/v1/projects`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name }),
          });
          expect(res.status).toBe(201);
        }
        // `falaj audit list` reads the trail through the API.
        const list = await runCli([
          'audit',
          'list',
          '--url',
          server.url,
          '--token',
          token,
          '--json',
          '--limit',
          '2',
        ]);
        expect(list.code, list.stdout + list.stderr).toBe(0);
        const page = JSON.parse(list.stdout) as { events: { seq: number; action: string }[]; next?: number };
        expect(page.events.map((e) => e.action)).toEqual(['project.create', 'project.create']);
        expect(page.next).toBe(3);
        const older = await runCli(['audit', 'list', '--url', server.url, '--token', token, '--after', '3']);
        expect(older.code, older.stdout + older.stderr).toBe(0);
        expect(older.stdout).toMatch(/^SEQ\s+TIME\s+ACTOR/);
        expect(older.stdout).toContain('auth.login');
        expect(older.stdout).toContain('user.bootstrap');
        const oneProject = await runCli(['audit', 'list', '--project', 'two', '--oldest-first', '--json'], {
          FALAJ_URL: server.url,
          FALAJ_TOKEN: token,
        });
        expect(JSON.parse(oneProject.stdout).events).toEqual([
          expect.objectContaining({ action: 'project.create', objectId: 'two', project: 'two' }),
        ]);
        const refused = await runCli(['audit', 'list', '--url', server.url, '--token', 'falajs_wrong']);
        expect(refused.code, refused.stdout + refused.stderr).toBe(1);
        expect(refused.stderr).toContain('FALAJ_UNAUTHENTICATED');
      } finally {
        server.kill('SIGTERM');
        expect(await server.exited, server.output()).toBe(0);
      }
      const args = ['audit', 'verify', '--json', ...target(dialect, sandbox.dataDir, sandbox.databaseUrl)];
      const intact = await runCli(args);
      expect(intact.code, intact.stdout + intact.stderr).toBe(0);
      const result = JSON.parse(intact.stdout) as { headSeq: number; checkpointsChecked: number };
      expect(result.headSeq).toBe(5); // bootstrap, login, two projects, the refused `audit list`
      expect(result.checkpointsChecked).toBeGreaterThanOrEqual(1);

      const store = await openStore({
        dataDir: sandbox.dataDir,
        databaseUrl: sandbox.databaseUrl,
        migrate: false,
      });
      try {
        await dropTriggers(store);
        await store.db.deleteFrom('audit_events').where('seq', '>=', 4).execute();
      } finally {
        await store.close();
      }
      const cut = await runCli(args);
      expect(cut.code, cut.stdout + cut.stderr).toBe(2);
      expect(JSON.parse(cut.stdout)).toMatchObject({ ok: false, problem: { seq: 4, kind: 'truncated' } });
    } finally {
      await sandbox.dispose();
    }
  });
});
