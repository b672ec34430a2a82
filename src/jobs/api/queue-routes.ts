// The queues jobs are submitted to, with their quotas: anyone signed in reads them, the owner sets them.
import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { parseQueueConfig, putQueue, storedQueues } from '../queues.js';

/** Queues: list; create or replace one (owner). */
export async function queueRoutes(app: FalajApp, svc: Services): Promise<void> {
  app.get(
    '/api/v1/queues',
    {
      config: { permission: 'identity' },
      schema: { tags: ['jobs'], summary: 'Queues and their quota configuration' },
    },
    async () => ({ queues: await storedQueues(svc.store.db) }),
  );

  app.put(
    '/api/v1/queues/:name',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['jobs'],
        summary:
          'Create or replace a queue: per-project quotas (cpu, memory, gpus by type), weights, preemption',
        params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) }),
        body: Type.Record(Type.String(), Type.Unknown()),
      },
    },
    async (req) => {
      const config = parseQueueConfig(req.params.name, req.body);
      const now = svc.clock.now();
      return audited(svc, req, async (tx) => {
        await putQueue(tx, config, now);
        return {
          result: config,
          audit: {
            action: 'queue.put',
            objectType: 'queue',
            objectId: config.name,
            details: { projects: config.projects.length },
          },
        };
      });
    },
  );
}
