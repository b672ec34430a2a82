import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { Database } from '../../store/schema.js';

/**
 * The throttle in front of every password (and second-factor) check; docs/login-throttling.md
 * states the rules for users. Failures are counted twice, in `login_attempts`:
 *
 * - per (key, source address): the first SLOW_AFTER failures cost nothing, then each attempt
 *   waits 1, 2, 4, 8... seconds after the last failure, and at LOCK_AFTER the pair is locked
 *   for LOCK_MS. A stranger guessing from one address locks only that address out.
 * - per key, every address together (source '*'): the same wait from SLOW_AFTER on, capped at
 *   MAX_DELAY_MS, and never a lock, so that guessing from many addresses is slowed to one guess
 *   a minute while the owner of the account, elsewhere, is only slowed.
 *
 * A key is a lower-cased username (unknown names too, so probing them is slowed alike), or
 * `mfa:<username>` for codes tried through a session.
 *
 * Checks of one key run one at a time, so that no burst gets more checks than the counts
 * allow: the check is reserved before the hash is computed, with a conditional upsert of the
 * key's '*' row that only succeeds while no other check holds it (atomic in the database, so
 * it holds across server processes), and the reservation ends when the outcome is recorded.
 * Within one process the attempts of a key wait their turn in a queue (first come, first
 * served) instead of polling the database. A reservation not ended within RESERVATION_MS (its
 * process died) may be taken over; the one check it covered is then not counted.
 */
export const SLOW_AFTER = 5;
export const LOCK_AFTER = 10;
export const LOCK_MS = 15 * 60_000;
export const MAX_DELAY_MS = 60_000;
export const RESERVATION_MS = 10_000;
/** Attempts of one key that may wait in one process; more are refused at once (429). */
export const MAX_WAITING = 100;
/** The source of the row that counts every address of a key. */
export const ANY_SOURCE = '*';
// How often an attempt looks again while another process holds the key's reservation.
const POLL_MS = 20;

/**
 * What a check established, for the counts: 'failure' a wrong guess; 'success' the secret was
 * right (clears the counts of this key and address); 'neutral' neither (no code given, or a
 * right code used twice): the reservation ends and nothing is counted.
 */
export type Outcome = 'success' | 'failure' | 'neutral';

export interface Attempt {
  /** Records the outcome (on `db`, which may be the caller's transaction) and ends the reservation. */
  finish(db: Executor, outcome: Outcome): Promise<void>;
}

export interface AttemptOptions {
  db: Kysely<Database>;
  clock: Clock;
  /** A username, or `mfa:<username>`. */
  key: string;
  /** The client address. */
  source: string;
  /** Called with the refusal (423 or 429) before it is thrown; no check was made. */
  onRefusal?: (err: FalajError) => Promise<void>;
}

export function throttleKey(username: string): string {
  return username.trim().toLowerCase();
}

/** The wait after `failures` failures, from the last one. */
export function delayMs(failures: number): number {
  if (failures < SLOW_AFTER) return 0;
  return Math.min(1000 * 2 ** (failures - SLOW_AFTER), MAX_DELAY_MS);
}

/**
 * Runs `check` as one throttled attempt: waits for the key's turn, reserves it, and refuses
 * (423/429, without calling `check`) when the counts say so. `check` must record its outcome
 * with `attempt.finish`; if it throws first, the attempt counts as a failure (a hash may have
 * been computed, and an error must not be a way to guess for free).
 */
export async function withAttempt<T>(
  opts: AttemptOptions,
  check: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  const key = throttleKey(opts.key);
  const turn = turnsOf(opts.db).take(key);
  try {
    if (!turn) throw busy();
    await turn.ready;
    const token = randomUUID();
    await reserve(opts.db, opts.clock, key, opts.source, token);
    return await runReserved(opts, key, token, check);
  } catch (err) {
    if (!(err instanceof ThrottleRefusal)) throw err;
    await opts.onRefusal?.(err.error);
    throw err.error;
  } finally {
    turn?.end();
  }
}

/** Runs the check while holding the key's reservation; an outcome it left unrecorded is a failure. */
async function runReserved<T>(
  opts: AttemptOptions,
  key: string,
  token: string,
  check: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  let finished = false;
  const attempt: Attempt = {
    async finish(db, outcome) {
      finished = true;
      await record(db, opts.clock, key, opts.source, token, outcome);
    },
  };
  try {
    return await check(attempt);
  } finally {
    if (!finished) await attempt.finish(opts.db, 'failure');
  }
}

/** Forgets every count of a key (an owner's MFA reset); a check in flight keeps its reservation. */
export async function clearFailures(db: Executor, key: string): Promise<void> {
  const k = throttleKey(key);
  await db
    .updateTable('login_attempts')
    .set({ failures: 0, last_failure_at: null, locked_until: null })
    .where('username', '=', k)
    .execute();
  await db.deleteFrom('login_attempts').where('username', '=', k).where('reserved_by', 'is', null).execute();
}

// --- refusals -------------------------------------------------------------------------------

/** A refusal by the throttle itself, told apart from errors thrown by the check. */
class ThrottleRefusal extends Error {
  constructor(readonly error: FalajError) {
    super(error.message);
  }
}

function throttled(waitMs: number, message = 'too many failed logins: wait before trying again') {
  return new ThrottleRefusal(
    new FalajError('FALAJ_LOGIN_THROTTLED', message, {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    }),
  );
}

function locked(until: number) {
  return new ThrottleRefusal(
    new FalajError('FALAJ_ACCOUNT_LOCKED', 'too many failed logins from this address: locked for a while', {
      lockedUntil: new Date(until).toISOString(),
    }),
  );
}

const busy = () => throttled(1000, 'too many logins at once for this account: try again in a moment');

interface Counts {
  failures: number;
  last_failure_at: number | null;
  locked_until: number | null;
}

/** Why `counts` refuse a check now, if they do. */
function refusalOf(counts: Counts | undefined, now: number): ThrottleRefusal | undefined {
  if (!counts) return undefined;
  if (counts.locked_until !== null && now < counts.locked_until) return locked(counts.locked_until);
  // On probation after a lock (locked_until set and over) there is no wait: one failure relocks.
  if (counts.locked_until !== null || counts.last_failure_at === null) return undefined;
  const allowedAt = counts.last_failure_at + delayMs(counts.failures);
  return now < allowedAt ? throttled(allowedAt - now) : undefined;
}

/** The pair's lock first (it is final for this address), else the longer of the two waits. */
function refusal(pair: Counts | undefined, all: Counts, now: number): ThrottleRefusal | undefined {
  const byPair = refusalOf(pair, now);
  if (byPair?.error.code === 'FALAJ_ACCOUNT_LOCKED') return byPair;
  const byAll = refusalOf(all, now);
  if (!byPair || !byAll) return byPair ?? byAll;
  const wait = (r: ThrottleRefusal) => (r.error.details as { retryAfterSeconds: number }).retryAfterSeconds;
  return wait(byPair) >= wait(byAll) ? byPair : byAll;
}

// --- the reservation ------------------------------------------------------------------------

/** Takes the key's reservation (waiting while another process holds it), then applies the counts. */
async function reserve(
  db: Kysely<Database>,
  clock: Clock,
  key: string,
  source: string,
  token: string,
): Promise<void> {
  for (let polls = 0; ; polls++) {
    const now = clock.now();
    const all = await takeReservation(db, key, token, now);
    if (all) {
      const pair = await db
        .selectFrom('login_attempts')
        .select(['failures', 'last_failure_at', 'locked_until'])
        .where('username', '=', key)
        .where('source', '=', source)
        .executeTakeFirst();
      const refused = refusal(pair, all, now);
      if (!refused) return;
      await endReservation(db, key, token);
      throw refused;
    }
    if (polls * POLL_MS >= RESERVATION_MS) throw busy();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * One statement: creates the key's '*' row reserved, or reserves it if free (or its holder's
 * time is over); returns its counts, or nothing if another check holds it.
 */
async function takeReservation(
  db: Kysely<Database>,
  key: string,
  token: string,
  now: number,
): Promise<Counts | undefined> {
  const reservedUntil = now + RESERVATION_MS;
  return db
    .insertInto('login_attempts')
    .values({
      username: key,
      source: ANY_SOURCE,
      failures: 0,
      last_failure_at: null,
      locked_until: null,
      reserved_by: token,
      reserved_until: reservedUntil,
    })
    .onConflict((oc) =>
      oc
        .columns(['username', 'source'])
        .doUpdateSet({ reserved_by: token, reserved_until: reservedUntil })
        .where((eb) =>
          eb.or([
            eb('login_attempts.reserved_by', 'is', null),
            eb('login_attempts.reserved_until', '<=', now),
          ]),
        ),
    )
    .returning(['failures', 'last_failure_at', 'locked_until'])
    .executeTakeFirst();
}

/** Ends a reservation if it is still this one; a '*' row left with nothing to count goes. */
async function endReservation(db: Executor, key: string, token: string): Promise<void> {
  await db
    .deleteFrom('login_attempts')
    .where('username', '=', key)
    .where('source', '=', ANY_SOURCE)
    .where('reserved_by', '=', token)
    .where('failures', '=', 0)
    .execute();
  await db
    .updateTable('login_attempts')
    .set({ reserved_by: null, reserved_until: null })
    .where('username', '=', key)
    .where('source', '=', ANY_SOURCE)
    .where('reserved_by', '=', token)
    .execute();
}

/** Counts the outcome of a check and ends its reservation. */
async function record(
  db: Executor,
  clock: Clock,
  key: string,
  source: string,
  token: string,
  outcome: Outcome,
): Promise<void> {
  if (outcome === 'failure') {
    await countFailure(db, clock.now(), key, source, { locks: true });
    await countFailure(db, clock.now(), key, ANY_SOURCE, { locks: false });
  } else if (outcome === 'success') {
    // Only this address's row: a stranger's locked address stays locked.
    await db.deleteFrom('login_attempts').where('username', '=', key).where('source', '=', source).execute();
    await db
      .updateTable('login_attempts')
      .set({ failures: 0, last_failure_at: null })
      .where('username', '=', key)
      .where('source', '=', ANY_SOURCE)
      .execute();
  }
  await endReservation(db, key, token);
}

/**
 * Counts one failure with one upsert (the increment is done by the database, so a late
 * outcome of a taken-over reservation is not lost), then sets or clears the lock of a pair.
 */
async function countFailure(
  db: Executor,
  now: number,
  key: string,
  source: string,
  rule: { locks: boolean },
): Promise<void> {
  const row = await db
    .insertInto('login_attempts')
    .values({
      username: key,
      source,
      failures: 1,
      last_failure_at: now,
      locked_until: null,
      reserved_by: null,
      reserved_until: null,
    })
    .onConflict((oc) =>
      oc.columns(['username', 'source']).doUpdateSet({
        // After a lock runs out the pair is still on probation: one failure from a new lock.
        failures: sql<number>`case when login_attempts.locked_until is not null then ${LOCK_AFTER}
          else login_attempts.failures + 1 end`,
        last_failure_at: now,
      }),
    )
    .returning('failures')
    .executeTakeFirstOrThrow();
  const lockedUntil = rule.locks && row.failures >= LOCK_AFTER ? now + LOCK_MS : null;
  await db
    .updateTable('login_attempts')
    .set({ locked_until: lockedUntil })
    .where('username', '=', key)
    .where('source', '=', source)
    .execute();
}

// --- turns within one process ---------------------------------------------------------------

interface Turn {
  /** Resolves when it is this attempt's turn. */
  ready: Promise<void>;
  end(): void;
}

/**
 * First come, first served per key: one attempt of a key at a time in this process, so that a
 * burst waits in memory rather than polling the database for the reservation.
 */
class Turns {
  private readonly queues = new Map<string, { tail: Promise<void>; size: number }>();

  /** A place in the key's queue, or nothing if MAX_WAITING attempts are there already. */
  take(key: string): Turn | undefined {
    const queue = this.queues.get(key) ?? { tail: Promise.resolve(), size: 0 };
    if (queue.size >= MAX_WAITING) return undefined;
    this.queues.set(key, queue);
    queue.size++;
    const ready = queue.tail;
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // The next attempt waits for this one's turn to come and to end, in that order.
    queue.tail = ready.then(() => done);
    return {
      ready,
      end: () => {
        release();
        if (--queue.size === 0) this.queues.delete(key);
      },
    };
  }
}

// One set of queues per store: two stores in one process (tests) behave like two processes.
const turnsByStore = new WeakMap<object, Turns>();
function turnsOf(db: Kysely<Database>): Turns {
  let turns = turnsByStore.get(db);
  if (!turns) {
    turns = new Turns();
    turnsByStore.set(db, turns);
  }
  return turns;
}
