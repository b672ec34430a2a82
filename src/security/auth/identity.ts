import type { Clock } from '../../core/clock.js';
import { FalajError } from '../../core/errors.js';
import type { Identity } from '../../http/identity.js';
import { isTokenRole } from '../../http/roles.js';
import type { Executor } from '../../store/executor.js';
import { AGENT_TOKEN_PREFIX, API_TOKEN_PREFIX, SESSION_TOKEN_PREFIX, sha256Hex } from '../secrets/secrets.js';

// last_used_at is written at most this often per credential: a write on every read request
// would halve read throughput for a figure that only needs minute precision.
const LAST_USED_GRANULARITY_MS = 60_000;

export async function readRequireMfa(db: Executor): Promise<boolean> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'require_mfa')
    .executeTakeFirst();
  return row?.value === 'true';
}

/** Resolves `Authorization: Bearer ...`; throws a 401 FalajError for anything not currently valid. */
export async function resolveBearer(db: Executor, clock: Clock, bearer: string): Promise<Identity> {
  const now = clock.now();
  if (bearer.startsWith(SESSION_TOKEN_PREFIX)) {
    const row = await db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['s.id', 's.expires_at', 's.revoked_at', 's.last_used_at', 'u.id as user_id', 'u.username'])
      .select(['u.is_owner', 'u.disabled', 'u.mfa_enabled'])
      // The require-MFA setting rides along in the same query: one round trip per request.
      .select((eb) =>
        eb.selectFrom('settings').select('value').where('key', '=', 'require_mfa').as('require_mfa'),
      )
      .where('s.token_hash', '=', sha256Hex(bearer))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null)
      throw new FalajError('FALAJ_UNAUTHENTICATED', 'session is not valid');
    if (row.expires_at <= now)
      throw new FalajError('FALAJ_TOKEN_EXPIRED', 'session has expired: log in again');
    if (row.disabled) throw new FalajError('FALAJ_ACCOUNT_DISABLED', 'account is disabled');
    if (now - row.last_used_at > LAST_USED_GRANULARITY_MS) {
      await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', row.id).execute();
    }
    const mfaPending = !row.mfa_enabled && row.require_mfa === 'true';
    return {
      kind: 'session',
      userId: row.user_id,
      username: row.username,
      isOwner: row.is_owner === 1,
      sessionId: row.id,
      mfaPending,
    };
  }
  if (bearer.startsWith(API_TOKEN_PREFIX)) {
    const row = await db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select([
        't.id',
        't.project_id',
        't.role',
        't.expires_at',
        't.revoked_at',
        't.last_used_at',
        't.run_id',
        't.deployment',
      ])
      .select(['u.id as user_id', 'u.username', 'u.is_owner', 'u.disabled'])
      .where('t.token_hash', '=', sha256Hex(bearer))
      .executeTakeFirst();
    if (!row) throw new FalajError('FALAJ_UNAUTHENTICATED', 'API token is not valid');
    if (row.revoked_at !== null) throw new FalajError('FALAJ_TOKEN_REVOKED', 'API token has been revoked');
    if (row.expires_at !== null && row.expires_at <= now) {
      throw new FalajError('FALAJ_TOKEN_EXPIRED', 'API token has expired');
    }
    if (row.disabled)
      throw new FalajError('FALAJ_ACCOUNT_DISABLED', 'the account that owns this token is disabled');
    if (!isTokenRole(row.role))
      throw new FalajError('FALAJ_UNAUTHENTICATED', 'API token has an unknown role');
    if (row.last_used_at === null || now - row.last_used_at > LAST_USED_GRANULARITY_MS) {
      await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
    }
    return {
      kind: 'token',
      userId: row.user_id,
      username: row.username,
      isOwner: row.is_owner === 1,
      token: {
        id: row.id,
        projectId: row.project_id,
        role: row.role,
        ...(row.run_id ? { runId: row.run_id } : {}),
        ...(row.deployment ? { deployment: row.deployment } : {}),
      },
      mfaPending: false,
    };
  }
  if (bearer.startsWith(AGENT_TOKEN_PREFIX)) return resolveAgentToken(db, now, bearer);
  throw new FalajError(
    'FALAJ_UNAUTHENTICATED',
    'unrecognised credential: expected a falaj_ API token or a session',
  );
}

async function resolveAgentToken(db: Executor, now: number, bearer: string): Promise<Identity> {
  const row = await db
    .selectFrom('agent_tokens')
    .select(['id', 'name', 'expires_at', 'revoked_at', 'last_used_at'])
    .where('token_hash', '=', sha256Hex(bearer))
    .executeTakeFirst();
  if (!row) throw new FalajError('FALAJ_UNAUTHENTICATED', 'agent token is not valid');
  if (row.revoked_at !== null) throw new FalajError('FALAJ_TOKEN_REVOKED', 'agent token has been revoked');
  if (row.expires_at !== null && row.expires_at <= now)
    throw new FalajError('FALAJ_TOKEN_EXPIRED', 'agent token has expired');
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_GRANULARITY_MS) {
    await db.updateTable('agent_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  // No user behind it: it acts as itself, and access.ts lets it through agent routes only.
  return {
    kind: 'agent',
    userId: '',
    username: `agent:${row.name}`,
    isOwner: false,
    agentToken: { id: row.id, name: row.name },
    mfaPending: false,
  };
}
