import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { FalajApp } from '../http/services.js';

/** Prometheus metrics: `falaj_` names, base units (seconds, bytes), `_total` counters. */
export function installMetrics(app: FalajApp): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'falaj_' });
  const requests = new Counter({
    name: 'falaj_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'falaj_http_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    // Inference has its own series (falaj_inference_*, per deployment and version).
    if (req.routeOptions.config?.permission === 'invoke') return;
    // The route template, not the URL: unbounded label values would grow memory without end.
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  return registry;
}
