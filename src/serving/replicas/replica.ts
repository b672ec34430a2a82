// A `falaj serve` replica: a serving process that is a client of a Falaj server. Its host loads
// the deployments named (or every deployment of the project placed on replicas) through an
// HttpCatalog, it answers the same V2 and MLflow endpoints as the servers (servingRoutes), and:
//
// - /healthz (live: the process answers) and /readyz (200 once every deployment it serves is
//   loaded, else 503), for load balancers and Kubernetes probes;
// - a readiness report per deployment every REPORT_MS (PUT .../replicas/:id), so that the
//   servers route to it; on stop it leaves (DELETE) before it stops answering;
// - its request log shipped to the server in batches (log-shipper.ts);
// - requests a server forwards carry this replica's random key (x-falaj-replica-key, given in
//   its readiness reports): the server authorised the caller already, and callers' tokens never
//   travel to a replica;
// - direct callers' tokens checked with the server (it has no database): the caller's bearer is sent
//   to GET /serving/<p>/<d>/v2/health/ready on the server (the `invoke` permission, as for
//   inference); 200 (or 503: allowed, not loaded there) admits, 401/403 refuses, and the answer
//   is cached for AUTH_TTL_MS per token and deployment. A public deployment admits anyone.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import type { FalajClient } from '../../client/index.js';
import { FalajError } from '../../core/errors.js';
import { bearerOf } from '../../http/guard.js';
import type { FalajApp } from '../../http/services.js';
import { validatorCompiler } from '../../http/validators.js';
import { DeploymentHost } from '../host/deployment-host.js';
import { InferenceProtocolError } from '../protocols/index.js';
import type { RequestLogWriter } from '../request-log/index.js';
import { servingMetrics } from '../serving-metrics.js';
import { SERVING_BODY_LIMIT, servingRoutes } from '../serving-routes.js';
import { HttpCatalog } from './http-catalog.js';
import { LogShipper } from './log-shipper.js';
import { REPLICA_KEY_HEADER } from './replica-proxy.js';
import type { ReplicaReportWire } from './wire.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Between readiness reports (the servers route only to replicas seen within 6 s). */
export const REPORT_MS = 2000;
/** How long a token check's answer (admitted or refused) is reused. */
export const AUTH_TTL_MS = 5000;

export type ReplicaLog = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  facts?: Record<string, unknown>,
) => void;

export interface ReplicaOptions {
  client: FalajClient;
  project: string;
  /** Deployment names; none: every deployment of the project placed on replicas. */
  deployments?: readonly string[];
  host: string;
  port: number;
  /** The URL the servers reach this replica at (default http://<host>:<port>). */
  advertise?: string;
  replicaId?: string;
  cacheDir: string;
  reportMs?: number;
  authTtlMs?: number;
  log?: ReplicaLog;
}

export interface Replica {
  readonly id: string;
  /** Where it listens. */
  readonly url: string;
  /** What it reports to the servers. */
  readonly advertise: string;
  readonly deployments: readonly string[];
  ready(): boolean;
  readonly shipper: LogShipper;
  /** Leaves the servers' lists, finishes the requests in flight, ships the log, unloads. */
  stop(): Promise<void>;
}

const replicaPath = (project: string, deployment: string, id: string) =>
  `/api/v1/projects/${encodeURIComponent(project)}/deployments/${encodeURIComponent(deployment)}/replicas/${encodeURIComponent(id)}`;

/** Deployments of a project placed on replicas. */
async function replicaDeployments(client: FalajClient, project: string): Promise<string[]> {
  const list = await client.get<{ deployments: { name: string; spec: { placement?: string } }[] }>(
    `/api/v1/projects/${encodeURIComponent(project)}/deployments`,
  );
  return list.deployments.filter((d) => d.spec.placement === 'replicas').map((d) => d.name);
}

/** Token checks against the server, cached. */
class TokenChecks {
  private readonly cache = new Map<string, { status: number; until: number }>();
  private readonly inflight = new Map<string, Promise<number>>();

  constructor(
    private readonly client: FalajClient,
    private readonly ttlMs: number,
  ) {}

  async check(project: string, deployment: string, token: string): Promise<void> {
    const key = `${project}/${deployment}\n${createHash('sha256').update(token).digest('base64url')}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    let status: number;
    if (hit && hit.until > now) status = hit.status;
    else {
      let p = this.inflight.get(key);
      if (!p) {
        p = this.ask(project, deployment, token).finally(() => this.inflight.delete(key));
        this.inflight.set(key, p);
      }
      status = await p;
      if (status === 200 || status === 401 || status === 403) {
        if (this.cache.size >= 10_000) this.cache.clear();
        this.cache.set(key, { status, until: Date.now() + this.ttlMs });
      }
    }
    if (status === 200) return;
    if (status === 401) throw new FalajError('FALAJ_UNAUTHENTICATED', 'the token is not valid');
    if (status === 403)
      throw new FalajError(
        'FALAJ_FORBIDDEN',
        `the token lacks the invoke permission on project '${project}'`,
      );
    throw new InferenceProtocolError('v2', 503, 'the replica cannot check the token with the server now');
  }

  private async ask(project: string, deployment: string, token: string): Promise<number> {
    try {
      const res = await fetch(
        `${this.client.url}/serving/${encodeURIComponent(project)}/${encodeURIComponent(deployment)}/v2/health/ready`,
        { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) },
      );
      await res.arrayBuffer();
      // 503: the server admitted the caller but has not loaded the deployment itself.
      return res.status === 503 ? 200 : res.status;
    } catch {
      return 0;
    }
  }
}

export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const say: ReplicaLog = opts.log ?? (() => {});
  const { client, project } = opts;
  const names = opts.deployments?.length ? [...opts.deployments] : await replicaDeployments(client, project);
  if (names.length === 0)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `project '${project}' has no deployment placed on replicas: name them with --deployments`,
    );
  const id =
    opts.replicaId ??
    `${os
      .hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 60)}-${randomUUID().slice(0, 8)}`;
  const catalog = new HttpCatalog(client, project, names);
  const host = new DeploymentHost(catalog, {
    cacheDir: opts.cacheDir,
    reconcileMs: opts.reportMs ?? REPORT_MS,
    log: say,
  });
  const shipper = new LogShipper({
    client,
    project,
    sample: (deploymentId) => host.byId(deploymentId)?.spec.log.sample ?? 1,
    onError: (err) => say('warn', 'serve: cannot ship the request log (will retry)', { err: err.message }),
  });
  const registry = new Registry();
  const metrics = servingMetrics(registry, () =>
    host.all().map((d) => ({ project: d.project, deployment: d.name, ready: 1 })),
  );
  const checks = new TokenChecks(client, opts.authTtlMs ?? AUTH_TTL_MS);
  const key = randomBytes(32).toString('base64url');
  const keyBytes = Buffer.from(key);
  const fromServer = (req: { headers: Record<string, unknown> }) => {
    const given = req.headers[REPLICA_KEY_HEADER];
    if (typeof given !== 'string') return false;
    const bytes = Buffer.from(given);
    return bytes.length === keyBytes.length && timingSafeEqual(bytes, keyBytes);
  };
  let stopping = false;
  const ready = () => !stopping && names.every((n) => host.get(project, n) !== undefined);

  const app = Fastify({
    logger: false,
    bodyLimit: SERVING_BODY_LIMIT,
    forceCloseConnections: 'idle',
    // As the servers do: a caller's (or the proxying server's) X-Request-Id is kept when it is
    // well formed, so the id in the request log is the one the caller got back.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FalajApp;
  app.setValidatorCompiler(validatorCompiler);
  // The replica's own guard: only the inference routes, and only with the server's consent.
  app.addHook('onRequest', async (req) => {
    const config = req.routeOptions.config;
    if (config?.permission !== 'invoke') return;
    if (config.anonymous?.(req)) return;
    // Forwarded by a server, which authorised the caller.
    if (fromServer(req)) return;
    const p = req.params as { project?: string; deployment?: string };
    const token = bearerOf(req);
    if (!token)
      throw new FalajError('FALAJ_UNAUTHENTICATED', 'a token with the invoke permission is required');
    if (p.project === undefined || p.deployment === undefined) return;
    await checks.check(p.project, p.deployment, token);
  });
  app.get('/healthz', { config: { permission: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { permission: 'public' } }, async (_req, reply) => {
    const status = ready() ? 200 : 503;
    return reply.status(status).send({
      ready: status === 200,
      deployments: names.map((n) => ({
        name: n,
        ready: !stopping && host.get(project, n) !== undefined,
        revision: host.get(project, n)?.revision ?? null,
      })),
    });
  });
  app.get('/metrics', { config: { permission: 'public' } }, async (_req, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  await servingRoutes(app, {
    deps: { host, log: shipper as unknown as RequestLogWriter, metrics, now: () => Date.now() },
  });

  const address = await app.listen({ host: opts.host, port: opts.port });
  const port = (app.server.address() as { port: number }).port;
  const listenHost = opts.host === '0.0.0.0' || opts.host === '::' ? os.hostname() : opts.host;
  const advertise = (
    opts.advertise ?? `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`
  ).replace(/\/+$/, '');

  const reportOne = async (name: string) => {
    const live = host.get(project, name);
    const body: ReplicaReportWire = {
      url: advertise,
      key,
      ready: !stopping && live !== undefined,
      revision: live?.revision ?? 0,
      reason: stopping
        ? 'stopping'
        : live
          ? catalog.reports.get(name)?.state === 'ready'
            ? ''
            : (catalog.reports.get(name)?.reason ?? '')
          : (catalog.missing.get(name) ?? catalog.reports.get(name)?.reason ?? 'loading'),
    };
    await client.request('PUT', replicaPath(project, name, id), { json: body, timeoutMs: 10_000 });
  };
  let reporting: Promise<void> | undefined;
  const report = () => {
    reporting ??= (async () => {
      for (const name of names) {
        try {
          await reportOne(name);
        } catch (err) {
          say('warn', `serve: cannot report readiness of ${name}`, { err: (err as Error).message });
        }
      }
    })().finally(() => {
      reporting = undefined;
    });
    return reporting;
  };
  host.start();
  shipper.start();
  void host.reconcile().then(report);
  const timer = setInterval(() => void report(), opts.reportMs ?? REPORT_MS).unref();
  // Each replica judges the canaries it serves on the requests it answered (the server writes the
  // rollback: HttpCatalog.rollbackCanary).
  const judge = setInterval(() => void host.judgeCanaries(), 1000).unref();

  return {
    id,
    url: address,
    advertise,
    deployments: names,
    ready,
    shipper,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      clearInterval(judge);
      await reporting;
      // Out of the servers' lists first, so that nothing new is routed here.
      await Promise.all(
        names.map((n) =>
          client
            .request('DELETE', replicaPath(project, n, id), { timeoutMs: 5000 })
            .catch((err: Error) => say('warn', `serve: cannot leave ${n}`, { err: err.message })),
        ),
      );
      await app.close();
      await shipper.stop();
      say('info', 'serve: stopped', { requestLog: shipper.stats() });
      await host.stop();
    },
  };
}
