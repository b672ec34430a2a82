// How a server answers a deployment placed on `falaj serve` replicas: it forwards the request
// to one of the deployment's ready replicas, round-robin, over keep-alive connections. The list
// of ready replicas (ready, and seen within READY_WITHIN_MS) is read from serving_replicas once a
// second for all deployments, never per request. A replica that refuses the connection, drops
// it, or answers 503 is skipped and the request goes to the next one (predictions are
// idempotent), so a replica killed with -9 costs no failed request; it is marked not ready at
// once, here and in the store. No ready replica: 503 in the protocol's shape.
//
// This server has already authorised the caller (the serving routes' guard runs first). The
// forwarded request carries the replica's own key (x-falaj-replica-key, from its readiness
// report), never the caller's token: a replica, registered by a maintainer, must not collect
// the bearer tokens of everyone who calls the deployment.
import http from 'node:http';
import https from 'node:https';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Executor } from '../../store/executor.js';
import { type ReplicaRow, replicaOf, upsertReplica } from '../deployments/deployment-store.js';
import { InferenceProtocolError } from '../protocols/index.js';
import type { ReplicaProxy } from '../serving-routes.js';

/** A replica not heard from for this long is not routed to (it reports every ~2 s). */
export const READY_WITHIN_MS = 6000;
/** How often the list of replicas is read. */
export const REFRESH_MS = 1000;
/** The least time between two reads made because a deployment had no ready replica. */
const MIN_READ_MS = 200;
/** One forwarded attempt's limit. */
const ATTEMPT_TIMEOUT_MS = 30_000;
/** Headers a forwarded request keeps. */
const FORWARDED = ['content-type', 'accept', 'x-request-id', 'x-falaj-routing-key'];
/** The header that carries a replica's key on a forwarded request. */
export const REPLICA_KEY_HEADER = 'x-falaj-replica-key';

export interface ReplicaRouterOptions {
  db: () => Executor;
  now: () => number;
  log?: (level: 'info' | 'warn', msg: string, facts?: Record<string, unknown>) => void;
}

interface Attempt {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

class ConnectionFailed extends Error {}

export class ReplicaRouter {
  private byDeployment = new Map<string, ReplicaRow[]>();
  /** Replicas whose connection failed: not routed to until they report again after it. */
  private readonly down = new Map<string, number>();
  private readonly turn = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private loaded = false;
  private readAt = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly opts: ReplicaRouterOptions) {}

  start(): void {
    const tick = () => {
      void this.refresh().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, REFRESH_MS).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.agent.destroy();
    this.tlsAgent.destroy();
  }

  /** Reads every replica once (also called when a deployment has none yet in memory). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const rows = await this.opts.db().selectFrom('serving_replicas').selectAll().execute();
        const next = new Map<string, ReplicaRow[]>();
        const now = this.opts.now();
        const stale: ReplicaRow[] = [];
        for (const r of rows) {
          const row = replicaOf(r);
          if (row.ready && now - row.lastSeen > READY_WITHIN_MS) stale.push(row);
          const list = next.get(row.deploymentId) ?? [];
          list.push(row);
          next.set(row.deploymentId, list);
        }
        this.byDeployment = next;
        this.loaded = true;
        this.readAt = Date.now();
        for (const [k, at] of this.down) if (now - at > 10 * READY_WITHIN_MS) this.down.delete(k);
        // A replica that stopped reporting shows as not ready in the deployment's view.
        for (const r of stale)
          await this.markNotReady(r, `no readiness report for ${Math.round((now - r.lastSeen) / 1000)} s`);
      } catch (err) {
        this.opts.log?.('warn', 'serving: cannot read the replicas', { err: (err as Error).message });
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** The replicas a request may go to now, in a fair order. */
  ready(deploymentId: string): ReplicaRow[] {
    const now = this.opts.now();
    const list = (this.byDeployment.get(deploymentId) ?? []).filter((r) => {
      if (!r.ready || now - r.lastSeen > READY_WITHIN_MS) return false;
      const downAt = this.down.get(keyOf(r));
      return downAt === undefined || r.lastSeen > downAt;
    });
    if (list.length < 2) return list;
    const t = (this.turn.get(deploymentId) ?? 0) % list.length;
    this.turn.set(deploymentId, t + 1);
    return [...list.slice(t), ...list.slice(0, t)];
  }

  /** The hook servingRoutes calls for a deployment placed on replicas. */
  readonly proxy: ReplicaProxy = async (d, req, reply) => {
    const protocol = (req.routeOptions.url ?? req.url).includes('/v2') ? 'v2' : 'mlflow';
    const body = bodyOf(req);
    let candidates = this.ready(d.id);
    // None known: a replica may have reported since the last read (or nothing was read yet, in
    // an app that only injects): read again now, at most every MIN_READ_MS.
    if (candidates.length === 0 && (!this.loaded || Date.now() - this.readAt >= MIN_READ_MS)) {
      await this.refresh();
      candidates = this.ready(d.id);
    }
    let lastFailure = 'no replica of this deployment is ready';
    for (const r of candidates) {
      let a: Attempt;
      try {
        a = await this.forward(r, req, body);
      } catch (err) {
        lastFailure = `replica ${r.replicaId}: ${(err as Error).message}`;
        if (err instanceof ConnectionFailed) this.connectionFailed(r, (err as Error).message);
        continue;
      }
      if (a.status === 503) {
        lastFailure = `replica ${r.replicaId} is not ready`;
        continue;
      }
      send(reply, a);
      return true;
    }
    throw new InferenceProtocolError(protocol, 503, `deployment '${d.name}': ${lastFailure}`);
  };

  private connectionFailed(r: ReplicaRow, why: string): void {
    const now = this.opts.now();
    this.down.set(keyOf(r), now);
    this.opts.log?.('warn', `serving: replica ${r.replicaId} failed: ${why}; marked not ready`, {
      url: r.url,
    });
    void this.markNotReady(r, `the server could not reach it: ${why}`, now);
  }

  /** Marks a replica not ready in the store unless it reported after `since` (it came back). */
  private async markNotReady(r: ReplicaRow, reason: string, since = r.lastSeen): Promise<void> {
    r.ready = false;
    try {
      const current = await this.opts
        .db()
        .selectFrom('serving_replicas')
        .select('last_seen')
        .where('replica_id', '=', r.replicaId)
        .where('deployment_id', '=', r.deploymentId)
        .executeTakeFirst();
      if (!current || Number(current.last_seen) > since) return;
      await upsertReplica(this.opts.db(), {
        ...r,
        ready: false,
        reason,
        lastSeen: Number(current.last_seen),
      });
    } catch (err) {
      this.opts.log?.('warn', 'serving: cannot mark a replica not ready', { err: (err as Error).message });
    }
  }

  private forward(r: ReplicaRow, req: FastifyRequest, body: Buffer | undefined): Promise<Attempt> {
    return new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(req.url, `${r.url}/`);
      } catch {
        reject(new ConnectionFailed(`bad URL ${r.url}`));
        return;
      }
      const headers: Record<string, string> = {};
      for (const h of FORWARDED) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      // The id the caller sees (this server's) is the one the replica logs.
      headers['x-request-id'] =
        typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : String(req.id);
      headers[REPLICA_KEY_HEADER] = r.key;
      if (body) headers['content-length'] = String(body.length);
      const secure = target.protocol === 'https:';
      const out = (secure ? https : http).request(
        target,
        {
          method: req.method,
          headers,
          agent: secure ? this.tlsAgent : this.agent,
          timeout: ATTEMPT_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          // Cut off mid-answer (killed while answering): the request goes to the next replica.
          res.on('error', (err) => reject(new ConnectionFailed(err.message)));
          res.on('aborted', () => reject(new ConnectionFailed('the answer was cut off')));
        },
      );
      out.on('timeout', () => out.destroy(new Error(`no answer within ${ATTEMPT_TIMEOUT_MS} ms`)));
      out.on('error', (err) =>
        reject(new ConnectionFailed((err as NodeJS.ErrnoException).code ?? err.message)),
      );
      out.end(body);
    });
  }
}

const keyOf = (r: ReplicaRow) => `${r.deploymentId}/${r.replicaId}`;

/** The parsed body again as bytes: JSON re-encoded, CSV (a string) as it came. */
function bodyOf(req: FastifyRequest): Buffer | undefined {
  const b = req.body;
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string') return Buffer.from(b);
  if (Buffer.isBuffer(b)) return b;
  return Buffer.from(JSON.stringify(b));
}

function send(reply: FastifyReply, a: Attempt): void {
  const type = a.headers['content-type'];
  if (type) void reply.type(type);
  const id = a.headers['x-request-id'];
  if (typeof id === 'string') void reply.header('x-request-id', id);
  void reply.status(a.status).send(a.body);
}
