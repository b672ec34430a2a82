// The jobs module: the job and queue API, the agent protocol and its owner's controls, the
// queue gauges of /metrics, and the scheduler loop with the server's one executor.
import path from 'node:path';
import type { FalajModule, ModuleRuntime } from '../http/module.js';
import type { FalajApp } from '../http/services.js';
import { agentAdminRoutes } from './agent/server/agent-admin-routes.js';
import { agentRoutes } from './agent/server/agent-routes.js';
import { jobLogRoutes } from './api/job-log-routes.js';
import { installJobMetrics } from './api/job-metrics.js';
import { jobRoutes } from './api/job-routes.js';
import { queueRoutes } from './api/queue-routes.js';
import { JobStore } from './job-store.js';
import { JobScheduler } from './loop/job-scheduler.js';
import { serverExecutor } from './loop/server-executor.js';

export interface JobsRuntime extends ModuleRuntime {
  /** The server starts its loop; tests drive it with `pass()`. */
  readonly scheduler: JobScheduler;
}

export const jobsModule: FalajModule<JobsRuntime> = {
  name: 'jobs',
  async register(app, ctx) {
    const { svc } = ctx;
    const jobs = new JobStore(svc);
    const workRoot = path.join(svc.config.dataDir, 'jobs');
    // One executor per server, chosen by configuration (local, slurm, agent or kubernetes).
    const executor = serverExecutor(svc, workRoot);
    // Jobs reach the server at its public URL when one is set (pods, other machines), else where it listens.
    const scheduler = new JobScheduler(svc, jobs, {
      executor,
      workRoot,
      serverUrl: () => svc.config.publicUrl ?? ctx.serverUrl(),
    });
    await jobRoutes(app, svc, { jobs, scheduler });
    await jobLogRoutes(app, svc, { jobs, scheduler });
    await queueRoutes(app, svc);
    await agentRoutes(app, svc);
    await agentAdminRoutes(app, svc);
    installJobMetrics(svc, ctx.metrics);
    return {
      scheduler,
      start: () => scheduler.start(),
      async stop() {
        await scheduler.stop();
        await executor.close();
      },
    };
  },
};

/** The jobs module's runtime of an app. */
export function jobsRuntime(app: FalajApp): JobsRuntime {
  return app.falajModule(jobsModule);
}
