import { auditAttempt } from './audited.js';
import type { FalajApp, Services } from './services.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The safety net behind per-handler auditing: every mutating request and every 401/403 that
 * did not write its own event (validation errors, refusals, unknown routes) is recorded here,
 * with the route template rather than the URL or body (either may hold secrets). It runs in
 * onSend, before the response leaves: a caller never sees an answer whose event is not
 * committed, and a graceful shutdown (which waits for responses) cannot lose one.
 */
export function installAuditFallback(app: FalajApp, svc: Services): void {
  app.addHook('onSend', async (req, reply, payload) => {
    const status = reply.statusCode;
    if (req.audited) return payload;
    if (!MUTATING.has(req.method) && status !== 401 && status !== 403) return payload;
    try {
      await auditAttempt(
        svc,
        req,
        {
          action: `http.${req.method.toLowerCase()}`,
          objectType: 'route',
          objectId: req.routeOptions.url ?? '(no such route)',
          projectId: req.project?.id ?? null,
        },
        status,
      );
    } catch (err) {
      req.log.error({ err }, 'could not write the audit event for this request');
    }
    return payload;
  });
}
