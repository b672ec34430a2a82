import { FalajError } from '../core/errors.js';
import type { Executor as Db } from '../store/executor.js';
import type { ProjectQuota, QueueConfig, SchedulerConfig } from './scheduler/index.js';
import { validateConfig } from './scheduler/index.js';
import type { NodeCapacity } from './types.js';

/** The queue every job uses unless it names another; without a stored config it has no quotas. */
export const DEFAULT_QUEUE = 'default';

/** Validates one queue's config the way the scheduler will read it. */
export function parseQueueConfig(name: string, input: unknown): QueueConfig {
  const config = { ...(input as Record<string, unknown>), name } as unknown as QueueConfig;
  validateConfig({ queues: [config] });
  return config;
}

export async function storedQueues(db: Db): Promise<QueueConfig[]> {
  const rows = await db.selectFrom('queues').select(['name', 'config']).orderBy('name').execute();
  return rows.map((r) => ({ ...(JSON.parse(r.config) as QueueConfig), name: r.name }));
}

/** Creates the queue or replaces its config. */
export async function putQueue(db: Db, config: QueueConfig, now: number): Promise<void> {
  await db
    .insertInto('queues')
    .values({ name: config.name, config: JSON.stringify(config), created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ config: JSON.stringify(config), updated_at: now }))
    .execute();
}

/** The network policy of a queue's jobs (the default queue, unless stored otherwise: the host's). */
export async function queueNetwork(db: Db, name: string): Promise<'host' | 'none'> {
  const row = await db.selectFrom('queues').select('config').where('name', '=', name).executeTakeFirst();
  return row ? ((JSON.parse(row.config) as QueueConfig).network ?? 'host') : 'host';
}

export async function assertQueueExists(db: Db, name: string): Promise<void> {
  if (name === DEFAULT_QUEUE) return;
  const row = await db.selectFrom('queues').select('name').where('name', '=', name).executeTakeFirst();
  if (!row)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `queue '${name}' does not exist (ask an owner to create it, or use '${DEFAULT_QUEUE}')`,
      {
        field: 'queue',
      },
    );
}

/**
 * The scheduler's config: the stored queues, plus — when no `default` queue is stored — a
 * default queue where each project seen is allowed the whole cluster (no quotas; fair share
 * still orders them).
 */
export function schedulerConfig(
  stored: readonly QueueConfig[],
  defaultProjects: readonly string[],
  nodes: readonly NodeCapacity[],
): SchedulerConfig {
  if (stored.some((q) => q.name === DEFAULT_QUEUE) || defaultProjects.length === 0) return { queues: stored };
  let cpu = 0;
  let memory = 0;
  const gpus: Record<string, number> = {};
  for (const n of nodes) {
    cpu += n.cpu;
    memory += n.memory;
    for (const [type, idx] of Object.entries(n.gpus)) gpus[type] = (gpus[type] ?? 0) + idx.length;
  }
  const projects: ProjectQuota[] = defaultProjects.map((project) => ({
    project,
    cpu: { nominal: cpu },
    memory: { nominal: memory },
    gpus: Object.fromEntries(Object.entries(gpus).map(([t, n]) => [t, { nominal: n }])),
  }));
  return { queues: [...stored, { name: DEFAULT_QUEUE, projects }] };
}
