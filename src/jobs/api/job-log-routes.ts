// A job's output: what its executor has of the current attempt's stdout and stderr.
import { Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import type { JobStore } from '../job-store.js';
import type { JobScheduler } from '../loop/job-scheduler.js';
import { JobParams } from './job-routes.js';

/** The logs of a job, read from (or followed on) the server's executor. */
export async function jobLogRoutes(
  app: FalajApp,
  svc: Services,
  { jobs, scheduler }: { jobs: JobStore; scheduler: JobScheduler },
): Promise<void> {
  app.get(
    '/api/v1/projects/:project/jobs/:id/logs',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['jobs'],
        summary: 'stdout and stderr of the current attempt (follow=true streams until it ends)',
        params: JobParams,
        querystring: Type.Object({ follow: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const job = await jobs.get(svc.store.db, req.project!.id, req.params.id);
      if (!job.external_id) return reply.type('text/plain; charset=utf-8').send('');
      const stream = Readable.from(
        scheduler.executor.logs(job.external_id, { follow: req.query.follow === true }),
      );
      return reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(stream);
    },
  );
}
