import type { KeyObject } from 'node:crypto';
import type { AuditEventsTable } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import {
  type Checkpoint,
  type CheckpointLine,
  checkpointSignatureValid,
  readCheckpoints,
  readVerifyKey,
} from './audit-checkpoints.js';
import { eventHash, GENESIS_HASH } from './audit-log.js';

export type AuditProblemKind =
  | 'edited'
  | 'dropped'
  | 'reordered'
  | 'inserted'
  | 'truncated'
  | 'bad-signature';

export interface AuditProblem {
  /** The first bad event (for 'bad-signature': the seq the bad checkpoint claims). */
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Rows read from audit_events. */
  events: number;
  /** The last row read (0 and the genesis hash for an empty chain). */
  headSeq: number;
  headHash: string;
  /** Checkpoints whose signature verified and whose event was compared. */
  checkpointsChecked: number;
  problem?: AuditProblem;
  /** Things worth knowing that are not failures (no checkpoints, a torn last checkpoint line). */
  notes: string[];
}

export interface AuditVerifyOptions {
  /** The data directory whose checkpoints are checked; without it only the chain is checked. */
  dataDir?: string | undefined;
  /** A public key (PEM) pinned elsewhere, instead of `<dataDir>/keys/audit-signing.pub`. */
  publicKeyPem?: string | Buffer | undefined;
  /** Rows per query; the chain is never loaded whole. */
  pageSize?: number;
}

type Row = AuditEventsTable;

/**
 * Recomputes the audit chain in seq order, page by page, and compares it with the signed
 * checkpoints of `dataDir`. Stops at the first problem and names it:
 *
 * - a seq gap: `dropped` (or `reordered` when the missing event sits elsewhere in the table);
 * - a row whose content no longer gives its hash: `edited`; but when the content gives its
 *   hash under another seq (an intact event renumbered): `reordered` (moved or swapped),
 *   `inserted` (rows were slipped in before it, the later ones renumbered) or `dropped` (rows
 *   were deleted before it and the later ones renumbered to close the gap);
 * - a row that hashes right but does not link to the row before it: `edited` (the row before
 *   was altered and re-hashed), `reordered` (its true predecessor sits elsewhere), or
 *   `inserted` (rows were slipped in between it and its predecessor);
 * - a row that differs from a signed checkpoint of its seq: `edited` (the chain was rewritten
 *   and re-hashed up to there);
 * - a checkpoint beyond the last row: `truncated` (the newest events were cut off);
 * - a checkpoint that does not verify with the public key: `bad-signature` (reported when the
 *   chain itself is otherwise intact, since it names no event).
 */
export async function verifyAuditChain(
  store: Store,
  opts: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  const pageSize = Math.max(1, opts.pageSize ?? 1000);
  const notes: string[] = [];
  const cps = new CheckpointCursor(opts, notes);
  await cps.init();

  let prev = { seq: 0, hash: GENESIS_HASH };
  let events = 0;
  const done = (problem?: AuditProblem): AuditVerifyResult => {
    const base = { events, headSeq: prev.seq, headHash: prev.hash, checkpointsChecked: cps.checked, notes };
    return problem ? { ok: false, ...base, problem } : { ok: true, ...base };
  };

  // The checkpoint file is read alongside the walk, but only as far as it reached before the walk
  // began (readCheckpoints snapshots its size): a checkpoint appended later could cover events
  // committed after the walk passed the end, and they would look cut off.
  // The first page starts below 1: a row slipped in at seq 0 or below must be seen, not skipped.
  let first = true;
  for (;;) {
    let q = store.db.selectFrom('audit_events').selectAll();
    if (!first) q = q.where('seq', '>', prev.seq);
    first = false;
    const page = await q.orderBy('seq', 'asc').limit(pageSize).execute();
    for (const row of page) {
      const problem = await checkRow(store, row, prev);
      if (problem) return done(problem);
      const cpProblem = await cps.compare(store, row);
      if (cpProblem) return done(cpProblem);
      events += 1;
      prev = { seq: row.seq, hash: row.hash };
    }
    if (page.length < pageSize) break;
  }

  const tail = await cps.finish(store, prev.seq);
  if (tail) return done(tail);
  if (cps.badSignature) return done(cps.badSignature);
  return done();
}

/** The first problem at `row`, given the last row that checked out, or null. */
async function checkRow(
  store: Store,
  row: Row,
  prev: { seq: number; hash: string },
): Promise<AuditProblem | null> {
  const expected = prev.seq + 1;
  if (row.seq < expected) {
    // Only possible for a first row at seq 0 or below: the writer starts at 1.
    return {
      seq: row.seq,
      kind: 'inserted',
      message: `event ${row.seq} is not part of the chain: numbering starts at 1`,
    };
  }
  if (row.seq > expected) {
    const last = row.seq - 1;
    const span = last === expected ? `event ${expected} is` : `events ${expected}..${last} are`;
    // The event that belonged at `expected` is the one that names the previous row as its
    // predecessor; if it still exists further along, it was moved rather than deleted.
    const moved = await findSeq(store, 'prev_hash', prev.hash, [row.seq]);
    if (moved !== null && moved !== expected) {
      return {
        seq: expected,
        kind: 'reordered',
        message: `event ${expected} is missing from its place: the event that follows ${prev.seq} in the chain now sits at seq ${moved}`,
      };
    }
    return {
      seq: expected,
      kind: 'dropped',
      message: `${span} missing: deleted from the audit table (event ${row.seq} follows ${prev.seq === 0 ? 'the start' : `event ${prev.seq}`})`,
    };
  }

  const selfOk = eventHash(row) === row.hash;
  const linkOk = row.prev_hash === prev.hash;
  if (selfOk && linkOk) return null;

  if (!selfOk) {
    const home = await homeSeq(store, row);
    if (home !== null && home < row.seq && (await predecessorAt(store, row, home - 1))) {
      // Intact content of the event at `home`, still preceded by its true predecessor at
      // `home - 1`: the rows from `home` up to here were slipped in and the rest renumbered.
      return {
        seq: home,
        kind: 'inserted',
        message: `event ${home} was inserted: the event now at seq ${row.seq} belongs at seq ${home}, right after event ${home - 1}`,
      };
    }
    if (home !== null && home > row.seq && !(await predecessorExists(store, row))) {
      // Intact content from further along, whose predecessor is gone: events were deleted and
      // the later ones renumbered to close the gap.
      return {
        seq: row.seq,
        kind: 'dropped',
        message: `event ${row.seq} was deleted and the later events renumbered: the event now at seq ${row.seq} belongs at seq ${home}`,
      };
    }
    if (home !== null) {
      return {
        seq: row.seq,
        kind: 'reordered',
        message: `event ${row.seq} is intact but belongs at seq ${home}: events were swapped or renumbered`,
      };
    }
    return {
      seq: row.seq,
      kind: 'edited',
      message: linkOk
        ? `event ${row.seq} was edited: its content no longer matches its hash`
        : `event ${row.seq} was edited: neither its content nor its link matches the chain`,
    };
  }

  // The row hashes right where it is but does not follow the row before it.
  if (row.prev_hash === GENESIS_HASH && row.seq !== 1) {
    return {
      seq: row.seq,
      kind: 'reordered',
      message: `event ${row.seq} claims to be the first event of the chain`,
    };
  }
  const predecessor = row.prev_hash === GENESIS_HASH ? null : await findSeq(store, 'hash', row.prev_hash, []);
  if (predecessor !== null && predecessor !== prev.seq) {
    if (predecessor < prev.seq) {
      return {
        seq: predecessor + 1,
        kind: 'inserted',
        message: `event ${predecessor + 1} was inserted: event ${row.seq} follows event ${predecessor} in the chain, not ${prev.seq}`,
      };
    }
    return {
      seq: row.seq,
      kind: 'reordered',
      message: `event ${row.seq} follows event ${predecessor} in the chain, not ${prev.seq}: events were reordered`,
    };
  }
  if (prev.seq === 0) {
    return { seq: 1, kind: 'edited', message: 'event 1 does not start from the genesis hash' };
  }
  return {
    seq: prev.seq,
    kind: 'edited',
    message: `event ${prev.seq} was edited and re-hashed: event ${row.seq} recorded a different hash for it`,
  };
}

/** The seq of the first row whose `column` equals `value` (a scan: only run at a problem). */
async function findSeq(
  store: Store,
  column: 'hash' | 'prev_hash',
  value: string,
  excluding: number[],
): Promise<number | null> {
  let q = store.db.selectFrom('audit_events').select('seq').where(column, '=', value);
  if (excluding.length > 0) q = q.where('seq', 'not in', excluding);
  const hit = await q.orderBy('seq').limit(1).executeTakeFirst();
  return hit ? hit.seq : null;
}

async function predecessorExists(store: Store, row: Row): Promise<boolean> {
  return row.prev_hash === GENESIS_HASH || (await findSeq(store, 'hash', row.prev_hash, [])) !== null;
}

async function predecessorAt(store: Store, row: Row, seq: number): Promise<boolean> {
  if (seq === 0) return row.prev_hash === GENESIS_HASH;
  const at = await store.db
    .selectFrom('audit_events')
    .select('hash')
    .where('seq', '=', seq)
    .executeTakeFirst();
  return at?.hash === row.prev_hash;
}

/**
 * The seq under which a row's content gives its stored hash, other than its own: where an
 * intact event was moved from. Candidates: the seq after its predecessor's, the seq before its
 * successor's, and nearby seqs (swaps are usually local).
 */
async function homeSeq(store: Store, row: Row): Promise<number | null> {
  const candidates = new Set<number>();
  if (row.prev_hash === GENESIS_HASH) candidates.add(1);
  else {
    const pred = await findSeq(store, 'hash', row.prev_hash, [row.seq]);
    if (pred !== null) candidates.add(pred + 1);
  }
  const succ = await findSeq(store, 'prev_hash', row.hash, [row.seq]);
  if (succ !== null) candidates.add(succ - 1);
  for (let d = 1; d <= 3; d++) candidates.add(row.seq - d).add(row.seq + d);
  for (const seq of candidates) {
    if (seq < 1 || seq === row.seq) continue;
    if (eventHash({ ...row, seq }) === row.hash) return seq;
  }
  return null;
}

/**
 * Walks the checkpoint file alongside the chain. Checkpoints are written in seq order, so one
 * pass compares each with the row of its seq; one out of order is looked up on its own.
 */
class CheckpointCursor {
  checked = 0;
  badSignature: AuditProblem | undefined;
  private key: KeyObject | null = null;
  private lines: AsyncGenerator<CheckpointLine> | undefined;
  private pending: Checkpoint | undefined;
  private ended = false;
  /** The newest valid checkpoint seen, for the truncation check. */
  private newest: Checkpoint | undefined;

  constructor(
    private readonly opts: AuditVerifyOptions,
    private readonly notes: string[],
  ) {}

  async init(): Promise<void> {
    const { dataDir } = this.opts;
    if (!dataDir) {
      this.notes.push(
        'no data directory given: signed checkpoints not checked, cut-off newest events cannot be found',
      );
      this.ended = true;
      return;
    }
    this.key = readVerifyKey(dataDir, this.opts.publicKeyPem);
    this.lines = readCheckpoints(dataDir, (line) =>
      this.notes.push(`checkpoint line ${line} is torn (an interrupted write) and was skipped`),
    );
    await this.advance();
    if (this.ended && !this.pending && !this.badSignature) {
      this.notes.push(`no checkpoints in ${dataDir}: cut-off newest events cannot be found`);
    }
  }

  /** Moves to the next checkpoint whose signature verifies; bad ones are remembered and skipped. */
  private async advance(): Promise<void> {
    this.pending = undefined;
    while (!this.ended && this.lines) {
      const next = await this.lines.next();
      if (next.done) {
        this.ended = true;
        return;
      }
      const line = next.value;
      if (!line.checkpoint) {
        this.bad(0, `checkpoint line ${line.line} is unreadable (${line.error})`);
        continue;
      }
      const cp = line.checkpoint;
      if (!this.key) {
        this.bad(
          cp.seq,
          `checkpoint line ${line.line} cannot be verified: no public key (keys/audit-signing.pub)`,
        );
        continue;
      }
      if (!checkpointSignatureValid(this.key, cp)) {
        this.bad(
          cp.seq,
          `checkpoint line ${line.line} (seq ${cp.seq}, ${cp.time}) has a bad signature: the checkpoint file was tampered with`,
        );
        continue;
      }
      if (!this.newest || cp.seq >= this.newest.seq) this.newest = cp;
      this.pending = cp;
      return;
    }
  }

  private bad(seq: number, message: string): void {
    this.badSignature ??= { seq, kind: 'bad-signature', message };
  }

  /** Compares every pending checkpoint up to `row.seq` with the chain. */
  async compare(store: Store, row: Row): Promise<AuditProblem | null> {
    while (this.pending && this.pending.seq <= row.seq) {
      const cp = this.pending;
      const hash =
        cp.seq === row.seq
          ? row.hash
          : (
              await store.db
                .selectFrom('audit_events')
                .select('hash')
                .where('seq', '=', cp.seq)
                .executeTakeFirst()
            )?.hash;
      const problem = mismatch(cp, hash);
      if (problem) return problem;
      this.checked += 1;
      await this.advance();
    }
    return null;
  }

  /** After the last row: checkpoints beyond it mean the newest events were cut off. */
  async finish(store: Store, headSeq: number): Promise<AuditProblem | null> {
    while (this.pending) {
      const cp = this.pending;
      if (cp.seq > headSeq) {
        // Keep reading: the newest checkpoint gives the full extent of the cut.
        while (!this.ended) await this.advance();
        const newest = this.newest && this.newest.seq > cp.seq ? this.newest : cp;
        return {
          seq: headSeq + 1,
          kind: 'truncated',
          message: `events ${headSeq + 1}..${newest.seq} are missing: the newest events were cut off (a checkpoint signed at ${newest.time} saw the chain at seq ${newest.seq}, the table ends at ${headSeq})`,
        };
      }
      const row = await store.db
        .selectFrom('audit_events')
        .select('hash')
        .where('seq', '=', cp.seq)
        .executeTakeFirst();
      const problem = mismatch(cp, row?.hash);
      if (problem) return problem;
      this.checked += 1;
      await this.advance();
    }
    return null;
  }
}

function mismatch(cp: Checkpoint, hash: string | undefined): AuditProblem | null {
  if (hash === cp.hash) return null;
  if (hash === undefined) {
    return {
      seq: cp.seq,
      kind: 'dropped',
      message: `event ${cp.seq} is missing, but a checkpoint signed at ${cp.time} saw it`,
    };
  }
  return {
    seq: cp.seq,
    kind: 'edited',
    message: `event ${cp.seq} differs from the checkpoint signed at ${cp.time}: the chain up to seq ${cp.seq} was rewritten and re-hashed`,
  };
}
