import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import type { AuditInput } from '../security/audit/audit-log.js';
import type { Database } from '../store/schema.js';
import { actorOf } from './identity.js';
import type { Services } from './services.js';

/** The part of an audit event a handler knows; who, from where and which request come from the request. */
export interface AuditFacts {
  /** Overrides the request's identity (a login records the user who logged in). */
  actor?: string;
  action: string;
  objectType: string;
  objectId: string;
  projectId?: string | null;
  details?: Record<string, unknown>;
}

export function auditBase(req: FastifyRequest): Pick<AuditInput, 'actor' | 'sourceIp' | 'requestId'> {
  return { actor: actorOf(req.identity), sourceIp: req.ip, requestId: String(req.id) };
}

/**
 * Runs a change and its audit event in one transaction: either both commit or neither does.
 * `fn` returns the result and the facts to record (the object id is often known only inside).
 */
export async function audited<T>(
  svc: Services,
  req: FastifyRequest,
  fn: (tx: Transaction<Database>) => Promise<{ result: T; audit: AuditFacts }>,
  status = 200,
): Promise<T> {
  const result = await svc.store.db.transaction().execute(async (tx) => {
    const { result, audit } = await fn(tx);
    await svc.audit.append(tx, { ...auditBase(req), ...audit, outcome: 'success', status });
    return result;
  });
  req.audited = true;
  return result;
}

/**
 * Records a request outcome on its own: a refused or failed attempt that changed nothing (a
 * wrong password, a bad MFA code, a 403), or a request whose handler had nothing else to commit.
 */
export async function auditAttempt(
  svc: Services,
  req: FastifyRequest,
  facts: AuditFacts,
  status: number,
  tx?: Transaction<Database>,
): Promise<void> {
  const input: AuditInput = {
    ...auditBase(req),
    ...facts,
    outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
    status,
  };
  if (tx) await svc.audit.append(tx, input);
  else await svc.audit.appendAlone(svc.store.db, input);
  req.audited = true;
}
