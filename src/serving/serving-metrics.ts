// Serving's Prometheus metrics, per deployment and version: requests by status, latency, rows
// predicted, and the replicas ready. Label values are bounded by the deployments that exist.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ServingMetrics {
  observe(
    labels: { project: string; deployment: string; model: string; version: string; variant: string },
    status: number,
    seconds: number,
    rows: number,
  ): void;
}

export function servingMetrics(
  registry: Registry | undefined,
  replicasReady: () => { project: string; deployment: string; ready: number }[],
): ServingMetrics {
  if (!registry) return { observe: () => {} };
  const requests = new Counter({
    name: 'falaj_inference_requests_total',
    help: 'Inference requests answered, by deployment, model version, variant and HTTP status',
    labelNames: ['project', 'deployment', 'model', 'version', 'variant', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'falaj_inference_duration_seconds',
    help: 'Time to parse, predict and encode one inference request',
    labelNames: ['project', 'deployment', 'model', 'version', 'variant'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const rows = new Counter({
    name: 'falaj_inference_rows_total',
    help: 'Rows predicted, by deployment, model version and variant',
    labelNames: ['project', 'deployment', 'model', 'version', 'variant'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'falaj_serving_replicas_ready',
    help: 'falaj serve replicas ready per deployment (embedded deployments count this server)',
    labelNames: ['project', 'deployment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of replicasReady()) this.set({ project: r.project, deployment: r.deployment }, r.ready);
    },
  });
  // One set of children per deployment, version, variant and status: looking a child up by a
  // label object on every request allocates and hashes it each time.
  type Children = {
    requests: ReturnType<typeof requests.labels>;
    duration: ReturnType<typeof duration.labels>;
    rows: ReturnType<typeof rows.labels>;
  };
  const children = new Map<string, Children>();
  return {
    observe(labels, status, seconds, n) {
      const key = `${labels.project}\u0000${labels.deployment}\u0000${labels.model}\u0000${labels.version}\u0000${labels.variant}\u0000${status}`;
      let c = children.get(key);
      if (!c) {
        c = {
          requests: requests.labels({ ...labels, status: String(status) }),
          duration: duration.labels(labels),
          rows: rows.labels(labels),
        };
        children.set(key, c);
      }
      c.requests.inc();
      c.duration.observe(seconds);
      if (n > 0) c.rows.inc(n);
    },
  };
}
