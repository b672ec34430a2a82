import type { Services } from '../../http/services.js';

/**
 * The request log's Parquet files are held by digest in `serving_log_files`, not by `artifacts`
 * rows: the shared reaper must keep them. Call once per Services when serving starts (its
 * module's register), before any writer runs.
 */
export function holdRequestLogBlobs(svc: Services): void {
  svc.reaper.addHolder(async (digest) =>
    Boolean(
      await svc.store.db
        .selectFrom('serving_log_files')
        .select('digest')
        .where('digest', '=', digest)
        .executeTakeFirst(),
    ),
  );
}
