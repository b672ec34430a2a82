import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import type { Services } from '../http/services.js';
import type { Database } from '../store/schema.js';
import { validateArtifactPath } from './artifact-paths.js';
import { upsertArtifact } from './artifact-rows.js';

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
    await upsertArtifact(tx, row);
    return { path: artifactPath, digest, size };
  } finally {
    release();
  }
}
