// Submitting a job on the server's side: what `POST .../jobs` does, for other domains too (the
// registry submits an evaluation as a job with a command it builds itself). The checks of the
// spec come first (submit-checks.ts), then, in the caller's transaction, the job's tracking run,
// the job row, the run's `falaj.job.id` tag and the submit's lineage edges. The scheduler loop picks queued jobs up on its
// next pass.
import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { type AuditFacts, auditBase } from '../http/audited.js';
import type { Services } from '../http/services.js';
import type { Database } from '../store/schema.js';
import { ExperimentStore } from '../tracking/experiment-store.js';
import { createRunInExperiment } from '../tracking/run-in-experiment.js';
import { RunStore } from '../tracking/run-store.js';
import { recordSubmitLineage } from './job-lineage.js';
import type { JobRow, JobStore } from './job-store.js';
import { assertSubmittable } from './submit-checks.js';
import type { JobSpec } from './types.js';

export interface SubmitJobInput {
  project: { id: string; name: string };
  /** A parsed spec (parseJobSpec). */
  spec: JobSpec;
  /** The submitter: the job runs, and its run token acts, as this user. */
  user: string;
  /** The tracking experiment of the job's run (default "jobs"). */
  experiment?: string;
  /** Makes the job's run a nested run (a tuning trial under its study's run). */
  parentRunId?: string;
  /** More tags of the job's run (the registry marks its evaluation runs). */
  tags?: { key: string; value: string }[];
}

/** Refuses a spec the project cannot run (FALAJ_INVALID_ARGUMENT); before anything is written. */
export async function checkSubmission(
  svc: Services,
  project: { id: string; name: string },
  spec: JobSpec,
): Promise<void> {
  await assertSubmittable(svc.store.db, project, spec, svc.config.dataDir);
}

/** The job's run and row, in the caller's transaction (the spec already checked). */
export async function insertJob(
  svc: Services,
  jobs: JobStore,
  tx: Transaction<Database>,
  input: SubmitJobInput,
): Promise<JobRow> {
  const experiments = new ExperimentStore(svc.store.dialect);
  const runs = new RunStore(experiments);
  const { spec } = input;
  const { runId } = await createRunInExperiment(
    tx,
    { experiments, runs },
    {
      projectId: input.project.id,
      projectName: input.project.name,
      experiment: input.experiment ?? 'jobs',
      userId: input.user,
      runName: spec.name ?? `job-${spec.command[0]?.split('/').pop() ?? 'run'}`,
      now: svc.clock.now(),
      tags: [
        { key: 'falaj.source', value: 'job' },
        ...(input.parentRunId ? [{ key: 'mlflow.parentRunId', value: input.parentRunId }] : []),
        ...(input.tags ?? []),
      ],
    },
  );
  const row = await jobs.insert(tx, { projectId: input.project.id, spec, user: input.user, runId });
  await runs.setTags(tx, runId, [{ key: 'falaj.job.id', value: row.id }]);
  await recordSubmitLineage(tx, input.project.id, { id: row.id, runId }, spec, svc.clock.now());
  return row;
}

/** The audit facts of a submitted job (`job.submit`). */
export function submitAudit(row: JobRow, spec: JobSpec, projectId: string): AuditFacts {
  return {
    action: 'job.submit',
    objectType: 'job',
    objectId: row.id,
    projectId,
    details: { queue: spec.queue, resources: spec.resources, command: spec.command[0] },
  };
}

/**
 * Submits a job within another change's transaction, with its own `job.submit` audit event
 * beside the caller's: the checks, then the run and the job row. The caller commits.
 */
export async function submitJobIn(
  svc: Services,
  req: FastifyRequest,
  jobs: JobStore,
  tx: Transaction<Database>,
  input: SubmitJobInput,
  status: number,
): Promise<JobRow> {
  const row = await insertJob(svc, jobs, tx, input);
  await svc.audit.append(tx, {
    ...auditBase(req),
    ...submitAudit(row, input.spec, input.project.id),
    outcome: 'success',
    status,
  });
  return row;
}
