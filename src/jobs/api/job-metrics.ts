import { Gauge, type Registry } from 'prom-client';
import type { Services } from '../../http/services.js';
import { specOf } from '../job-store.js';

/**
 * Demand per queue for cluster autoscalers: what waits (queued) and what holds capacity
 * (admitted or running), in jobs, cores, bytes and GPUs by type. Read from the database at
 * scrape time, so every server reports the same figures.
 */
export function installJobMetrics(svc: Services, registry: Registry): void {
  let refresh = async (): Promise<void> => {};
  // The registry reads all gauges at once; they share one query per scrape.
  let inFlight: Promise<void> | undefined;
  const shared = () => {
    inFlight ??= refresh().finally(() => setTimeout(() => (inFlight = undefined), 0));
    return inFlight;
  };
  const make = (name: string, help: string, labels: string[]) =>
    new Gauge({ name, help, labelNames: labels, registers: [registry], collect: shared });
  const gauges = {
    pendingJobs: make('falaj_queue_pending_jobs', 'Jobs waiting in the queue', ['queue']),
    pendingCpus: make('falaj_queue_pending_cpus', 'CPU cores asked for by waiting jobs', ['queue']),
    pendingMemory: make('falaj_queue_pending_memory_bytes', 'Memory asked for by waiting jobs', ['queue']),
    pendingGpus: make('falaj_queue_pending_gpus', 'GPUs asked for by waiting jobs', ['queue', 'gpu_type']),
    runningJobs: make('falaj_queue_running_jobs', 'Jobs admitted or running', ['queue']),
    runningCpus: make('falaj_queue_running_cpus', 'CPU cores held by admitted or running jobs', ['queue']),
    runningMemory: make('falaj_queue_running_memory_bytes', 'Memory held by admitted or running jobs', [
      'queue',
    ]),
    runningGpus: make('falaj_queue_running_gpus', 'GPUs held by admitted or running jobs', [
      'queue',
      'gpu_type',
    ]),
  };
  refresh = async () => {
    for (const g of Object.values(gauges)) g.reset();
    const rows = await svc.store.db
      .selectFrom('jobs')
      .selectAll()
      .where('state', 'in', ['queued', 'admitted', 'running'])
      .execute();
    for (const j of rows) {
      const spec = specOf(j);
      const nodes = spec.distributed?.nodes ?? 1;
      const r = spec.resources;
      const waiting = j.state === 'queued';
      const q = { queue: j.queue };
      (waiting ? gauges.pendingJobs : gauges.runningJobs).inc(q);
      (waiting ? gauges.pendingCpus : gauges.runningCpus).inc(q, r.cpu * nodes);
      (waiting ? gauges.pendingMemory : gauges.runningMemory).inc(q, r.memory * nodes);
      if (r.gpu > 0)
        (waiting ? gauges.pendingGpus : gauges.runningGpus).inc(
          { ...q, gpu_type: r.gpuType ?? 'any' },
          r.gpu * nodes,
        );
    }
  };
}
