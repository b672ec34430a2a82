// An agent attempt's log while it runs: the agent ships what the attempt writes as it writes it
// (`agent_log_chunks`), so that `falaj jobs logs -f` follows a job on another machine live. When
// the attempt ends the agent uploads the whole log as an artifact, which replaces the chunks.
import type { Readable } from 'node:stream';
import { sql, type Transaction } from 'kysely';
import { FalajError } from '../../../core/errors.js';
import type { Services } from '../../../http/services.js';
import type { Database } from '../../../store/schema.js';
import { ATTEMPT_ENDED_STATES } from '../../types.js';

/** One shipment's most bytes (the agent sends its log in pieces no larger). */
export const LIVE_LOG_CHUNK_MAX = 1024 * 1024;
/**
 * Live bytes kept per attempt. A job that floods its output is followed live up to here; the
 * rest arrives with the whole log at the end (a follower then continues from where it was).
 */
export const LIVE_LOG_MAX = 16 * 1024 * 1024;

export interface AppendResult {
  /** Live bytes the server holds for the attempt after this shipment. */
  readonly size: number;
  /** No more live bytes wanted: the cap is reached, or the attempt has ended. */
  readonly done: boolean;
}

async function liveSize(db: Transaction<Database>, externalId: string): Promise<number> {
  const last = await db
    .selectFrom('agent_log_chunks')
    .select(['offset', sql<number>`length(data)`.as('len')])
    .where('external_id', '=', externalId)
    .orderBy('offset', 'desc')
    .limit(1)
    .executeTakeFirst();
  return last ? Number(last.offset) + Number(last.len) : 0;
}

/**
 * Stores the bytes an agent shipped at `offset` of the attempt's log. A repeated shipment (its
 * answer was lost) is taken once; a gap (bytes the server never got) is refused with the size
 * it holds, so that the agent never leaves a hole a follower would read past.
 */
export async function appendLiveLog(
  svc: Services,
  agentId: string,
  externalId: string,
  offset: number,
  data: Uint8Array,
): Promise<AppendResult> {
  return svc.store.db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('agent_attempts')
      .select(['state', 'log_digest'])
      .where('external_id', '=', externalId)
      .where('agent_id', '=', agentId)
      .executeTakeFirst();
    if (!row) throw new FalajError('FALAJ_NOT_FOUND', `agent ${agentId} holds no attempt '${externalId}'`);
    const size = await liveSize(tx, externalId);
    // Ended and uploaded: the whole log is the artifact now.
    if (row.log_digest !== null || ATTEMPT_ENDED_STATES.has(row.state)) return { size, done: true };
    if (offset > size)
      throw new FalajError('FALAJ_CONFLICT', `log bytes from ${size} are missing; ship from there`, { size });
    const fresh = data.subarray(Math.min(data.length, size - offset));
    if (fresh.length > 0 && size < LIVE_LOG_MAX) {
      const kept = fresh.subarray(0, LIVE_LOG_MAX - size);
      await tx
        .insertInto('agent_log_chunks')
        .values({ external_id: externalId, offset: size, data: kept })
        .execute();
      return { size: size + kept.length, done: size + kept.length >= LIVE_LOG_MAX };
    }
    return { size, done: size >= LIVE_LOG_MAX };
  });
}

/** The live bytes from `from` on, in order; only the chunks holding them are read. */
export async function* readLiveLog(
  svc: Services,
  externalId: string,
  from: number,
): AsyncGenerator<Uint8Array> {
  const db = svc.store.db;
  // The chunk holding byte `from` starts at the largest offset not past it.
  const first = await db
    .selectFrom('agent_log_chunks')
    .select('offset')
    .where('external_id', '=', externalId)
    .where('offset', '<=', from)
    .orderBy('offset', 'desc')
    .limit(1)
    .executeTakeFirst();
  const chunks = await db
    .selectFrom('agent_log_chunks')
    .select(['offset', 'data'])
    .where('external_id', '=', externalId)
    .where('offset', '>=', first ? Number(first.offset) : 0)
    .orderBy('offset')
    .execute();
  for (const c of chunks) {
    const start = Number(c.offset);
    const bytes = new Uint8Array(c.data);
    if (start + bytes.length <= from) continue;
    yield bytes.subarray(Math.max(0, from - start));
  }
}

/** Reads a shipment's body, refusing one larger than LIVE_LOG_CHUNK_MAX. */
export async function readShipment(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const part of body) {
    const b = Buffer.isBuffer(part) ? part : Buffer.from(part as Uint8Array);
    n += b.length;
    if (n > LIVE_LOG_CHUNK_MAX) {
      body.destroy();
      throw new FalajError(
        'FALAJ_PAYLOAD_TOO_LARGE',
        `a log shipment is at most ${LIVE_LOG_CHUNK_MAX} bytes`,
      );
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}
