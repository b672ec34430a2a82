import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { AuditLog } from '../../../src/security/audit/audit-log.js';
import { verifyAuditChain } from '../../../src/security/audit/audit-verify.js';
import { openStore } from '../../../src/store/store.js';
import { createSandbox, DIALECTS } from '../../support/dialects.js';

// Two servers on one PostgreSQL: two Store instances (two pools) append concurrently, each in
// transactions of its own. SQLite has no such deployment (one process owns the file), so this
// runs on PostgreSQL only and is skipped, saying so, where PostgreSQL is not reachable.
describe.skipIf(!DIALECTS.includes('postgres'))('audit chain under concurrent writers on postgres', () => {
  it('two stores appending 100 events each concurrently leave one line: seqs 1..200, verified', async () => {
    const sandbox = await createSandbox('postgres');
    const a = await openStore({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
    const b = await openStore({ dataDir: sandbox.dataDir, databaseUrl: sandbox.databaseUrl });
    try {
      const clock = new ManualClock(Date.UTC(2026, 10, 26));
      const writers = [
        { name: 'a', store: a, log: new AuditLog(a.dialect, clock) },
        { name: 'b', store: b, log: new AuditLog(b.dialect, clock) },
      ];
      await Promise.all(
        writers.flatMap((w) =>
          Array.from({ length: 100 }, (_, i) =>
            // A change and its event in one transaction, as a request handler does.
            w.store.db.transaction().execute(async (tx) => {
              await tx
                .insertInto('settings')
                .values({ key: `${w.name}-${i}`, value: String(i) })
                .execute();
              await w.log.append(tx, {
                actor: `user:${w.name}`,
                action: 'setting.set',
                objectType: 'setting',
                objectId: `${w.name}-${i}`,
                sourceIp: '10.0.0.1',
                outcome: 'success',
                status: 200,
                requestId: `${w.name}-${i}`,
              });
            }),
          ),
        ),
      );
      const rows = await a.db.selectFrom('audit_events').select(['seq', 'actor']).orderBy('seq').execute();
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(rows.filter((r) => r.actor === 'user:a')).toHaveLength(100);
      expect(await verifyAuditChain(b)).toMatchObject({ ok: true, events: 200, headSeq: 200 });
    } finally {
      await a.close();
      await b.close();
      await sandbox.dispose();
    }
  });
});
