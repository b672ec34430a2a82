// Version Parquet files in the project's encrypted artifact store. Each version also gets an
// `artifacts` row (datasets/<name>/v<N>.parquet) so that it is listed with the project's files;
// the shared blob reaper keeps a version's blob even if that row is deleted (holdVersionBlobs).
import { createReadStream } from 'node:fs';
import type { Services } from '../http/services.js';

export function versionArtifactPath(dataset: string, version: number): string {
  return `datasets/${dataset}/v${version}.parquet`;
}

export async function putParquet(svc: Services, file: string): Promise<{ digest: string; size: number }> {
  return svc.artifacts.put(createReadStream(file));
}

/** Dataset versions hold their Parquet blobs by digest: the shared reaper must keep them. */
export function holdVersionBlobs(svc: Services): void {
  svc.reaper.addHolder(async (digest) =>
    Boolean(
      await svc.store.db
        .selectFrom('data_versions')
        .select('digest')
        .where('digest', '=', digest)
        .executeTakeFirst(),
    ),
  );
}
