// What a server-side training reads: a CSV or Parquet file of the project's artifact store, or a
// dataset version through the data gate (a version that failed its suite is refused). Resolved
// before anything is written, so a refusal changes nothing.
import { requireArtifact } from '../artifacts/artifact-rows.js';
import { FalajError } from '../core/errors.js';
import { type TrainingDataVersion, usableDataVersion } from '../lineage/run-inputs.js';
import type { Executor } from '../store/executor.js';

export interface TrainingData {
  /** The data file's digest in the artifact store. */
  digest: string;
  /** `.csv` or `.parquet`. */
  extension: string;
  /** What the run's falaj.training.data tag says: the artifact path, or `name@N`. */
  label: string;
  /** Set when the data is a dataset version. */
  dataVersion?: TrainingDataVersion;
  /** Set when the data is a project file. */
  path?: string;
}

/** A CSV or Parquet file of the project's artifact store. */
export async function artifactTrainingData(
  db: Executor,
  project: { id: string; name: string },
  data: string,
): Promise<TrainingData> {
  const lower = data.toLowerCase();
  const extension = lower.endsWith('.parquet') ? '.parquet' : lower.endsWith('.csv') ? '.csv' : '';
  if (!extension)
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `data must be a .csv or .parquet artifact (got '${data}')`,
      {
        field: 'data',
      },
    );
  const row = await requireArtifact(db, project, data);
  return { digest: row.digest, extension, label: data, path: data };
}

/** A dataset version `name@N` or `name@latest`, through the gate. */
export async function datasetTrainingData(
  db: Executor,
  projectId: string,
  spec: string,
): Promise<TrainingData> {
  const at = spec.lastIndexOf('@');
  const version = await usableDataVersion(db, projectId, spec.slice(0, at), spec.slice(at + 1));
  return {
    digest: version.digest,
    extension: '.parquet',
    label: `${version.dataset}@${version.version}`,
    dataVersion: version,
  };
}
