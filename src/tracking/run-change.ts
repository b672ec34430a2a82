import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { audited } from '../http/audited.js';
import type { Database, RunsTable } from '../store/schema.js';
import type { TrackingContext } from './tracking-context.js';

/**
 * A change to a run of the request's project, with one audit event for the whole request:
 * `fn` runs in the event's transaction on the run, which must be active unless
 * `requireActive` is false (MLflow refuses changes to a deleted run, but restores one).
 */
export function runChange(ctx: TrackingContext) {
  const { svc, runs } = ctx;
  return <T>(
    req: FastifyRequest,
    runId: string,
    action: string,
    fn: (tx: Transaction<Database>, run: RunsTable) => Promise<T>,
    details?: Record<string, unknown>,
    requireActive = true,
  ) =>
    audited(svc, req, async (tx) => {
      const projectId = req.project!.id;
      const run = requireActive
        ? await runs.requireActive(tx, projectId, runId)
        : await runs.require(tx, projectId, runId);
      const result = await fn(tx, run);
      return {
        result,
        audit: {
          action,
          objectType: 'run',
          objectId: runId,
          projectId,
          ...(details ? { details } : {}),
        },
      };
    });
}
