// The gate the trainer calls before it reads a dataset version: a version that failed its
// dataset's suite feeds no training until an admin overrides it (or a new version passes and
// is used instead).
import { FalajError } from '../core/errors.js';
import type { Executor } from '../store/executor.js';
import { findDataset, findVersion } from './dataset-store.js';

export interface UsableVersion {
  datasetId: string;
  version: number;
  digest: string;
  status: string;
  overridden: boolean;
}

/** Throws FALAJ_DATA_NOT_USABLE for a failed, not overridden version; returns what the trainer reads. */
export async function assertUsableForTraining(
  db: Executor,
  projectId: string,
  dataset: string,
  version: string | number,
): Promise<UsableVersion> {
  const d = await findDataset(db, projectId, dataset);
  const v = await findVersion(db, d, String(version));
  if (v.status === 'failed' && v.override === null) {
    throw new FalajError(
      'FALAJ_DATA_NOT_USABLE',
      `${dataset}@${v.version} failed its validation suite: it cannot feed training until a new version passes or an admin overrides it`,
      { dataset, version: Number(v.version), status: v.status },
    );
  }
  return {
    datasetId: d.id,
    version: Number(v.version),
    digest: v.digest,
    status: v.status,
    overridden: v.override !== null,
  };
}
