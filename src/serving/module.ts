// The serving module: deployments (API, revisions), the host that keeps them loaded in this
// server, the inference endpoints under /serving/<project>/<deployment>, the request log and
// the automatic rollback of failing canaries.
import path from 'node:path';
import type { FalajModule, ModuleRuntime } from '../http/module.js';
import type { FalajApp } from '../http/services.js';
import { deploymentRoutes } from './deployments/deployment-routes.js';
import { type FastPath, servingFastPath } from './fast-path.js';
import { DeploymentHost } from './host/deployment-host.js';
import { StoreCatalog } from './host/store-catalog.js';
import { ReplicaRouter } from './replicas/replica-proxy.js';
import { replicaRoutes } from './replicas/replica-routes.js';
import { holdRequestLogBlobs, RequestLogWriter } from './request-log/index.js';
import { servingMetrics } from './serving-metrics.js';
import { servingRoutes } from './serving-routes.js';

export interface ServingRuntime extends ModuleRuntime {
  readonly host: DeploymentHost;
  readonly requestLog: RequestLogWriter;
  readonly fastPath: FastPath;
}

/** How often canaries under an auto-rollback rule are judged. */
const JUDGE_MS = 1000;

export const servingModule: FalajModule<ServingRuntime> = {
  name: 'serving',
  async register(app, ctx) {
    const { svc } = ctx;
    const logger = app.log.child({ module: 'serving' });
    const host = new DeploymentHost(new StoreCatalog(svc), {
      cacheDir: path.join(svc.config.dataDir, 'tmp', 'serving'),
      now: () => svc.clock.now(),
      log: (level, msg, facts) => {
        logger[level](facts ?? {}, msg);
      },
    });
    holdRequestLogBlobs(svc);
    const requestLog = new RequestLogWriter(svc, {
      sample: (id) => host.byId(id)?.spec.log.sample ?? 1,
    });
    const replicas = new ReplicaRouter({
      db: () => svc.store.db,
      now: () => svc.clock.now(),
      log: (level, msg, facts) => logger[level](facts ?? {}, msg),
    });
    // Ready replicas per deployment: this server for an embedded one, the ready `falaj serve`
    // processes for one placed on replicas.
    const metrics = servingMetrics(ctx.metrics, () =>
      host.all().map((d) => ({
        project: d.project,
        deployment: d.name,
        ready: d.spec.placement === 'replicas' ? replicas.ready(d.id).length : 1,
      })),
    );
    const deps = { host, log: requestLog, metrics, now: () => svc.clock.now() };
    await servingRoutes(app, { deps, proxy: replicas.proxy });
    // The common inference requests skip the framework (fast-path.ts); the rest go to the routes.
    const fastPath = servingFastPath({
      deps,
      knownInvoker: (bearer, project, deployment) => app.knownInvoker(bearer, project, deployment),
      https: Boolean(svc.config.tlsCert),
    });
    app.addRawHandler(fastPath);
    await deploymentRoutes(app, svc, host);
    await replicaRoutes(app, svc, host, requestLog);
    let judge: NodeJS.Timeout | undefined;
    return {
      host,
      requestLog,
      fastPath,
      async start() {
        await host.reconcile();
        host.start();
        requestLog.start();
        replicas.start();
        judge = setInterval(() => void host.judgeCanaries(), JUDGE_MS).unref();
      },
      async stop() {
        if (judge) clearInterval(judge);
        replicas.stop();
        await host.stop();
        await requestLog.stop();
      },
    };
  },
};

/** The serving module's runtime of an app (tests drive the host and the request log with it). */
export function servingRuntime(app: FalajApp): ServingRuntime {
  return app.falajModule(servingModule);
}
