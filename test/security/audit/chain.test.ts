import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  CheckpointWriter,
  checkpointPaths,
  lastCheckpoint,
  signCheckpoint,
} from '../../../src/security/audit/audit-checkpoints.js';
import { eventHash } from '../../../src/security/audit/audit-log.js';
import { verifyAuditChain } from '../../../src/security/audit/audit-verify.js';
import { DIALECTS } from '../../support/dialects.js';
import { type Chain, chainOf, dropTriggers, rehashFrom, renumber, row, swap } from './chain-support.js';

describe.each(DIALECTS)('audit chain on %s', (dialect) => {
  let chain: Chain | undefined;
  afterEach(async () => {
    await chain?.close();
    chain = undefined;
  });
  const fresh = async (n: number) => {
    chain = await chainOf(dialect, n);
    return chain;
  };
  const verify = (c: Chain, pageSize?: number) =>
    verifyAuditChain(c.store, { dataDir: c.sandbox.dataDir, ...(pageSize ? { pageSize } : {}) });

  it('the database refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) of audit rows', async () => {
    const c = await fresh(3);
    const db = c.store.db;
    await expect(
      db.updateTable('audit_events').set({ actor: 'x' }).where('seq', '=', 2).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_events').where('seq', '=', 2).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
    if (dialect === 'postgres')
      await expect(sql`truncate audit_events`.execute(db)).rejects.toThrow(/append-only/);
    const rows = await db.selectFrom('audit_events').select(['seq', 'actor']).orderBy('seq').execute();
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect((await verify(c)).ok).toBe(true);
  });

  it('an intact chain verifies, across page boundaries, with its checkpoints', async () => {
    const c = await fresh(10);
    const cp1 = await c.writer.checkpointNow();
    expect(cp1).toMatchObject({ seq: 10 });
    expect(await c.writer.checkpointNow()).toBeNull(); // the head has not moved
    await c.append(5);
    expect(await c.writer.checkpointNow()).toMatchObject({ seq: 15 });
    for (const pageSize of [undefined, 1, 3, 15, 16]) {
      const r = await verify(c, pageSize);
      expect(r).toMatchObject({ ok: true, events: 15, headSeq: 15, checkpointsChecked: 2 });
      expect(r.problem).toBeUndefined();
      expect(r.headHash).toBe((await row(c.store, 15)).hash);
    }
    // The key pair is where the design says, the private key readable by its owner only.
    const paths = checkpointPaths(c.sandbox.dataDir);
    expect(readFileSync(paths.privateKey, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(readFileSync(paths.publicKey, 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect(statSync(paths.privateKey).mode & 0o777).toBe(0o600);
  });

  it('an empty chain verifies, and says that nothing protects its end', async () => {
    const c = await fresh(0);
    const r = await verify(c);
    expect(r).toMatchObject({ ok: true, events: 0, headSeq: 0, checkpointsChecked: 0 });
    expect(r.notes.join(' ')).toMatch(/no checkpoints/);
  });

  it('an edited field of a middle event is found at its seq', async () => {
    const c = await fresh(10);
    await c.writer.checkpointNow();
    await dropTriggers(c.store);
    await c.store.db
      .updateTable('audit_events')
      .set({ actor: 'user:mallory' })
      .where('seq', '=', 5)
      .execute();
    const r = await verify(c, 3);
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject({ seq: 5, kind: 'edited' });
    expect(r.problem!.message).toContain('event 5');
    expect(r).toMatchObject({ events: 4, headSeq: 4 });
  });

  it('an edited details document and an edited outcome are found', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await c.store.db.updateTable('audit_events').set({ outcome: 'success' }).where('seq', '=', 7).execute();
    await c.store.db.updateTable('audit_events').set({ details: '{"n":3}' }).where('seq', '=', 3).execute();
    expect((await verify(c)).problem).toMatchObject({ seq: 3, kind: 'edited' });
  });

  it('an event edited and re-hashed on its own breaks the link of the next one', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    const r6 = await row(c.store, 6);
    const forged = { ...r6, object_id: 'covered-up' };
    await c.store.db
      .updateTable('audit_events')
      .set({ object_id: forged.object_id, hash: eventHash(forged) })
      .where('seq', '=', 6)
      .execute();
    expect((await verify(c)).problem).toMatchObject({ seq: 6, kind: 'edited' });
  });

  it('a deleted middle event is found as dropped at its seq', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '=', 5).execute();
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 5, kind: 'dropped' });
    expect(r.problem!.message).toMatch(/event 5 is missing/);
  });

  it('several deleted events are named as a range', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '>=', 4).where('seq', '<=', 6).execute();
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 4, kind: 'dropped' });
    expect(r.problem!.message).toContain('4..6');
  });

  it('a deleted first event is found', async () => {
    const c = await fresh(5);
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '=', 1).execute();
    expect((await verify(c)).problem).toMatchObject({ seq: 1, kind: 'dropped' });
  });

  it('a deleted event whose gap was closed by renumbering is found as dropped', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '=', 5).execute();
    for (let s = 6; s <= 10; s++) await renumber(c.store, s, s - 1);
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 5, kind: 'dropped' });
  });

  it('two swapped events are found as reordered at the first of them', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await swap(c.store, 3, 7);
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 3, kind: 'reordered' });
    expect(r.problem!.message).toContain('belongs at seq 7');
  });

  it('swapping neighbours is found as reordered', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await swap(c.store, 5, 6);
    expect((await verify(c)).problem).toMatchObject({ seq: 5, kind: 'reordered' });
  });

  it('an event renumbered to the end is found as reordered at its old place', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    await renumber(c.store, 5, 1000);
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 5, kind: 'reordered' });
    expect(r.problem!.message).toContain('seq 1000');
  });

  it('a forged event slipped into the middle is found as inserted', async () => {
    const c = await fresh(10);
    await dropTriggers(c.store);
    for (let s = 10; s >= 6; s--) await renumber(c.store, s, s + 1);
    const r5 = await row(c.store, 5);
    const forged = {
      ...(await row(c.store, 7)),
      seq: 6,
      id: 'forged-event',
      actor: 'user:alibi',
      prev_hash: r5.hash,
    };
    await c.store.db
      .insertInto('audit_events')
      .values({ ...forged, hash: eventHash(forged) })
      .execute();
    expect((await verify(c)).problem).toMatchObject({ seq: 6, kind: 'inserted' });
  });

  it('a row slipped in below seq 1 is found as inserted', async () => {
    const c = await fresh(3);
    const forged = { ...(await row(c.store, 1)), seq: 0, id: 'before-time' };
    await c.store.db.insertInto('audit_events').values(forged).execute();
    expect((await verify(c)).problem).toMatchObject({ seq: 0, kind: 'inserted' });
  });

  it('cutting off the newest events is found only through the checkpoints', async () => {
    const c = await fresh(10);
    await c.writer.checkpointNow();
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '>=', 8).execute();
    // The rows left are a perfectly valid chain on their own...
    expect(await verifyAuditChain(c.store)).toMatchObject({ ok: true, headSeq: 7 });
    // ...but the signed checkpoint saw seq 10.
    const r = await verify(c);
    expect(r).toMatchObject({ ok: false, headSeq: 7, events: 7 });
    expect(r.problem).toMatchObject({ seq: 8, kind: 'truncated' });
    expect(r.problem!.message).toContain('8..10');
  });

  it('a truncated chain that grew again past the checkpoint is found at the checkpoint', async () => {
    const c = await fresh(10);
    await c.writer.checkpointNow();
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '>=', 8).execute();
    await c.append(5); // seqs 8..12 again, with other content
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 10, kind: 'edited' });
    expect(r.problem!.message).toMatch(/checkpoint/);
  });

  it('a chain rewritten and re-hashed from the middle is found by the checkpoints', async () => {
    const c = await fresh(5);
    await c.writer.checkpointNow();
    await c.append(5);
    await c.writer.checkpointNow();
    await dropTriggers(c.store);
    await c.store.db.updateTable('audit_events').set({ actor: 'user:nobody' }).where('seq', '=', 3).execute();
    await rehashFrom(c.store, 3);
    expect(await verifyAuditChain(c.store)).toMatchObject({ ok: true }); // consistent without checkpoints
    const r = await verify(c);
    expect(r.problem).toMatchObject({ seq: 5, kind: 'edited' });
    expect(r.checkpointsChecked).toBe(0);
  });

  it('a checkpoint whose content or signature was altered is found', async () => {
    const c = await fresh(6);
    await c.writer.checkpointNow();
    await c.append(2);
    await c.writer.checkpointNow();
    const { file } = checkpointPaths(c.sandbox.dataDir);
    const original = readFileSync(file, 'utf8');
    const lines = original.trimEnd().split('\n');
    const last = JSON.parse(lines[1]!) as Checkpoint;

    // The intruder lowers the checkpoint to match a chain cut at 6.
    writeFileSync(
      file,
      `${lines[0]}\n${JSON.stringify({ ...last, seq: 6, hash: (await row(c.store, 6)).hash })}\n`,
    );
    let r = await verify(c);
    expect(r.problem).toMatchObject({ kind: 'bad-signature', seq: 6 });
    expect(r.problem!.message).toMatch(/line 2/);

    // A flipped signature byte.
    const sig = Buffer.from(last.sig, 'base64');
    sig[0] = sig[0]! ^ 1;
    writeFileSync(file, `${lines[0]}\n${JSON.stringify({ ...last, sig: sig.toString('base64') })}\n`);
    r = await verify(c);
    expect(r.problem).toMatchObject({ kind: 'bad-signature', seq: 8 });

    // A checkpoint signed with some other key.
    const other = generateKeyPairSync('ed25519');
    writeFileSync(
      file,
      `${original}${JSON.stringify(signCheckpoint(other.privateKey, { ...last, seq: 3 }))}\n`,
    );
    r = await verify(c);
    expect(r.problem).toMatchObject({ kind: 'bad-signature', seq: 3 });

    // A line that is not a checkpoint at all.
    writeFileSync(file, `${original}{"seq":"x"}\n`);
    expect((await verify(c)).problem).toMatchObject({ kind: 'bad-signature' });

    // Checkpoints without their public key cannot be trusted...
    writeFileSync(file, original);
    expect((await verify(c)).ok).toBe(true);
    const pubPath = checkpointPaths(c.sandbox.dataDir).publicKey;
    const pub = readFileSync(pubPath);
    rmSync(pubPath);
    expect((await verify(c)).problem).toMatchObject({ kind: 'bad-signature' });
    // ...unless the key is given from elsewhere (pinned off the machine).
    const pinned = await verifyAuditChain(c.store, { dataDir: c.sandbox.dataDir, publicKeyPem: pub });
    expect(pinned).toMatchObject({ ok: true, checkpointsChecked: 2 });
    // A pinned key that is not the signer's refuses every checkpoint.
    const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    expect(
      (await verifyAuditChain(c.store, { dataDir: c.sandbox.dataDir, publicKeyPem: stranger })).problem,
    ).toMatchObject({ kind: 'bad-signature' });
  });

  it('a chain problem is reported before a bad checkpoint signature', async () => {
    const c = await fresh(8);
    await c.writer.checkpointNow();
    appendFileSync(checkpointPaths(c.sandbox.dataDir).file, 'garbage\n');
    await dropTriggers(c.store);
    await c.store.db.deleteFrom('audit_events').where('seq', '=', 4).execute();
    expect((await verify(c)).problem).toMatchObject({ seq: 4, kind: 'dropped' });
  });

  it('a torn last checkpoint line (a crash mid-write) is skipped with a note, not failed', async () => {
    const c = await fresh(4);
    await c.writer.checkpointNow();
    appendFileSync(checkpointPaths(c.sandbox.dataDir).file, '{"seq":4,"hash":"ab');
    const r = await verify(c);
    expect(r).toMatchObject({ ok: true, checkpointsChecked: 1 });
    expect(r.notes.join(' ')).toMatch(/torn/);
  });

  it('a writer restarted on the same data dir continues from its last checkpoint', async () => {
    const c = await fresh(3);
    await c.writer.checkpointNow();
    const again = new CheckpointWriter(c.store, c.sandbox.dataDir, { clock: c.clock, intervalMs: 3_600_000 });
    await again.start();
    expect(await again.checkpointNow()).toBeNull();
    await c.append(1);
    await again.stop(); // the final checkpoint on stop covers the new head
    expect(await lastCheckpoint(c.sandbox.dataDir)).toMatchObject({ seq: 4 });
    expect(await verify(c)).toMatchObject({ ok: true, checkpointsChecked: 2 });
  });

  it('a rolled-back change leaves no event and no gap', async () => {
    const c = await fresh(2);
    await expect(
      c.store.db.transaction().execute(async (tx) => {
        await c.audit.append(tx, {
          actor: 'user:x',
          action: 'project.create',
          objectType: 'project',
          objectId: 'p',
          sourceIp: '::1',
          outcome: 'success',
          status: 201,
          requestId: 'r',
        });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await c.append(1);
    const seqs = (await c.store.db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map(
      (r) => r.seq,
    );
    expect(seqs).toEqual([1, 2, 3]);
    expect((await verify(c)).ok).toBe(true);
  });
});
