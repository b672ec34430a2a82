import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import type { Services } from '../http/services.js';
import type { Database } from '../store/schema.js';
import { validateArtifactPath } from './artifact-paths.js';

/**
 * Stores bytes at a project path from inside the server (not from an upload): the blob is
 * written first, then `record` runs in the caller's transaction to write the row (and its
 * audit event). The shared reaper keeps a deduplicated blob alive until the row exists.
 */
export async function storeArtifact(
  svc: Services,
  p: { projectId: string; path: string; source: Readable; contentType?: string; createdBy: string },
  tx: Transaction<Database>,
): Promise<{ path: string; digest: string; size: number }> {
  const artifactPath = validateArtifactPath(p.path);
  const reaper = svc.reaper;
  const release = await reaper.enter();
  try {
    const { digest, size } = await svc.artifacts.put(p.source, { maxBytes: svc.config.maxArtifactBytes });
    const row = {
      project_id: p.projectId,
      path: artifactPath,
      digest,
      size,
      content_type: p.contentType ?? 'application/octet-stream',
      created_at: svc.clock.now(),
      created_by: p.createdBy,
    };
    await tx
      .insertInto('artifacts')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['project_id', 'path']).doUpdateSet({
          digest,
          size,
          content_type: row.content_type,
          created_at: row.created_at,
          created_by: row.created_by,
        }),
      )
      .execute();
    return { path: artifactPath, digest, size };
  } finally {
    release();
  }
}
