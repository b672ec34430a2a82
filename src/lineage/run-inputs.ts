// A dataset version read by a run: the version is checked against the training gate (a version
// that failed its suite feeds no training), then recorded twice in the caller's transaction: as
// the run's MLflow dataset input (name, digest, source, schema, row count) and as the lineage
// edge dataset_version → run ('input', attrs {digest, rows}). Server-side training and
// `POST /runs/:runId/inputs` (what `falaj train --data NAME@N` calls) both come through here.
import { findDatasetVersion } from '../data/dataset-store.js';
import { assertUsableForTraining } from '../data/training-gate.js';
import type { Executor } from '../store/executor.js';
import type { RunsTable } from '../store/schema.js';
import type { RunStore } from '../tracking/run-store.js';
import { recordEdge } from './lineage-store.js';

/** A dataset version a training may read. */
export interface TrainingDataVersion {
  /** data_versions.id: the lineage node's id. */
  id: string;
  dataset: string;
  version: number;
  digest: string;
  rowCount: number;
  /** JSON [{name, type}] as stored. */
  schema: string;
}

/** The version `spec` (a number or 'latest') of a dataset, through the gate: FALAJ_DATA_NOT_USABLE when refused. */
export async function usableDataVersion(
  db: Executor,
  projectId: string,
  dataset: string,
  spec: string,
): Promise<TrainingDataVersion> {
  const usable = await assertUsableForTraining(db, projectId, dataset, spec);
  const { d, v } = await findDatasetVersion(db, projectId, dataset, String(usable.version));
  return {
    id: v.id,
    dataset: d.name,
    version: Number(v.version),
    digest: v.digest,
    rowCount: Number(v.row_count),
    schema: v.schema,
  };
}

/** The run's MLflow input and the lineage edge, in `tx`; recording the same input again changes nothing. */
export async function recordDatasetInput(
  tx: Executor,
  runs: RunStore,
  projectId: string,
  run: RunsTable,
  data: TrainingDataVersion,
  now: number,
): Promise<void> {
  const columns = JSON.parse(data.schema) as { name: string; type: string }[];
  await runs.logInputs(tx, run, [
    {
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
      dataset: {
        name: data.dataset,
        digest: data.digest,
        sourceType: 'falaj-dataset',
        source: JSON.stringify({
          uri: `falaj-dataset:${data.dataset}@${data.version}`,
          version: data.version,
        }),
        schema: JSON.stringify({ mlflow_colspec: columns.map((c) => ({ name: c.name, type: c.type })) }),
        profile: JSON.stringify({ num_rows: data.rowCount }),
      },
    },
  ]);
  await recordEdge(
    tx,
    projectId,
    {
      from: { kind: 'dataset_version', id: data.id },
      to: { kind: 'run', id: run.id },
      relation: 'input',
      attrs: { digest: data.digest, rows: data.rowCount },
    },
    now,
  );
}

/** A project file (an artifact) read by a run: the edge file → run ('input', attrs {digest, path}). */
export async function recordFileInput(
  tx: Executor,
  projectId: string,
  runId: string,
  file: { digest: string; path: string },
  now: number,
): Promise<void> {
  await recordEdge(
    tx,
    projectId,
    {
      from: { kind: 'file', id: file.digest },
      to: { kind: 'run', id: runId },
      relation: 'input',
      attrs: { digest: file.digest, path: file.path },
    },
    now,
  );
}
