// A job's edges in the lineage graph, recorded where the links are made: at submit, in the
// transaction that creates the job and its run, code snapshot → job ('input', attrs {digest,
// artifact}) and job → run ('produced'); at launch, the snapshot actually unpacked (the
// artifact path may point at another blob by then; recording the same edge again changes nothing).
import { recordEdge } from '../lineage/lineage-store.js';
import type { Executor } from '../store/executor.js';
import { codeSnapshotDigest } from './code-snapshot.js';
import type { JobSpec } from './types.js';

/** The code snapshot a job reads: the edge code → job. */
export async function recordCodeInput(
  db: Executor,
  projectId: string,
  jobId: string,
  code: { digest: string; artifact: string },
  now: number,
): Promise<void> {
  await recordEdge(
    db,
    projectId,
    {
      from: { kind: 'code', id: code.digest },
      to: { kind: 'job', id: jobId },
      relation: 'input',
      attrs: { digest: code.digest, artifact: code.artifact },
    },
    now,
  );
}

/** At submit, in its transaction: job → run, and code → job when the spec has a code snapshot. */
export async function recordSubmitLineage(
  tx: Executor,
  projectId: string,
  job: { id: string; runId: string },
  spec: JobSpec,
  now: number,
): Promise<void> {
  await recordEdge(
    tx,
    projectId,
    { from: { kind: 'job', id: job.id }, to: { kind: 'run', id: job.runId }, relation: 'produced' },
    now,
  );
  if (spec.code && 'artifact' in spec.code) {
    const digest = await codeSnapshotDigest(tx, projectId, spec.code.artifact);
    await recordCodeInput(tx, projectId, job.id, { digest, artifact: spec.code.artifact }, now);
  }
}
