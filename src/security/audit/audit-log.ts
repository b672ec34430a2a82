import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { StoreDialect } from '../../store/dialects/dialect.js';
import type { Executor } from '../../store/executor.js';
import type { AuditEventsTable, Database } from '../../store/schema.js';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** What a caller says about an event; seq, time and the hashes are filled in by `append`. */
export interface AuditInput {
  actor: string;
  action: string;
  objectType: string;
  objectId: string;
  projectId?: string | null;
  sourceIp: string;
  outcome: AuditOutcome;
  status: number;
  requestId: string;
  /** Curated facts about the change. Never a request body: no secret may reach the chain. */
  details?: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

// Serialises appends across every server on one PostgreSQL, so that the chain stays one line.
const AUDIT_LOCK_KEY = 0x61756469; // "audi"

/**
 * JSON with keys sorted at every level and no whitespace: the same event always encodes to the
 * same bytes, whichever process or dialect wrote or read it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The fields the hash covers: everything in the row except the hash itself. */
export function eventHash(row: Omit<AuditEventsTable, 'hash'>): string {
  const body = canonicalJson({
    seq: row.seq,
    id: row.id,
    time: row.time,
    actor: row.actor,
    action: row.action,
    object_type: row.object_type,
    object_id: row.object_id,
    project_id: row.project_id,
    source_ip: row.source_ip,
    outcome: row.outcome,
    status: row.status,
    request_id: row.request_id,
    details: row.details,
  });
  return createHash('sha256').update(row.prev_hash).update('\n').update(body).digest('hex');
}

export class AuditLog {
  constructor(
    private readonly dialect: StoreDialect,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends one event inside the caller's transaction, so the event commits or rolls back
   * with the change it records. Pass a transaction whenever there is a change to record.
   */
  async append(tx: Executor, input: AuditInput): Promise<AuditEventsTable> {
    await this.lock(tx);
    const head = await tx
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const partial: Omit<AuditEventsTable, 'hash'> = {
      seq: head ? head.seq + 1 : 1,
      id: newId(),
      time: this.clock.now(),
      actor: input.actor,
      action: input.action,
      object_type: input.objectType,
      object_id: input.objectId,
      project_id: input.projectId ?? null,
      source_ip: input.sourceIp,
      outcome: input.outcome,
      status: input.status,
      request_id: input.requestId,
      details: canonicalJson(input.details ?? {}),
      prev_hash: head ? head.hash : GENESIS_HASH,
    };
    const row: AuditEventsTable = { ...partial, hash: eventHash(partial) };
    await tx.insertInto('audit_events').values(row).execute();
    return row;
  }

  /**
   * Takes the chain's lock for the rest of the transaction (an advisory lock on PostgreSQL;
   * SQLite transactions on one file are already serial). Idempotent within a transaction.
   */
  async lock(tx: Executor): Promise<void> {
    await this.dialect.transactionLock(tx, AUDIT_LOCK_KEY);
  }

  /** Appends in a transaction of its own (for events that record no other change: a 403, a failed login). */
  async appendAlone(db: Kysely<Database>, input: AuditInput): Promise<AuditEventsTable> {
    return db.transaction().execute((tx) => this.append(tx, input));
  }
}
