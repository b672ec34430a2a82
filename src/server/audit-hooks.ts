import { auditAttempt } from './audited.js';
import type { FalajApp, Services } from './services.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The safety net behind per-handler auditing: every mutating request and every 401/403 that
 * did not write its own event (validation errors, refusals, unknown routes) is recorded here,
 * after the response, with the route rather than the body (bodies may hold secrets).
 */
export function installAuditFallback(app: FalajApp, svc: Services): void {
  app.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    if (req.audited) return;
    if (!MUTATING.has(req.method) && status !== 401 && status !== 403) return;
    const route = req.routeOptions.url ?? req.url.split('?')[0] ?? '';
    try {
      await auditAttempt(
        svc,
        req,
        {
          action: `http.${req.method.toLowerCase()}`,
          objectType: 'route',
          objectId: route,
          projectId: req.project?.id ?? null,
        },
        status,
      );
    } catch (err) {
      req.log.error({ err }, 'could not write the audit event for this request');
    }
  });
}
