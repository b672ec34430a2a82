// Creating a version: everything that can fail on the data (reading, profiling, validating)
// happens in a private DuckDB before anything is stored; then the Parquet goes to the artifact
// store and the version, its artifact row, detected tags, validation result and audit event
// are written in one transaction. A failure leaves no row, and the blob is removed again.
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import { findArtifact, upsertArtifact } from '../artifacts/artifact-rows.js';
import { blobToFile } from '../artifacts/blob-file.js';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { audited } from '../http/audited.js';
import type { ProjectAccess } from '../http/identity.js';
import type { Services } from '../http/services.js';
import type { Executor } from '../store/executor.js';
import type { DataDatasetsTable } from '../store/schema.js';
import { isUniqueViolation } from '../tracking/ids.js';
import { putParquet, versionArtifactPath } from './blobs.js';
import { findDataset, findVersion, latestVersion, parseStoredSuite } from './dataset-store.js';
import { ingestFile } from './ingest.js';
import { detectPii } from './pii.js';
import { computeProfile } from './profile.js';
import { diffSchemas } from './schema-diff.js';
import type { ColumnSchema, SourceFormat, ValidationResult } from './types.js';
import { runSuite } from './validate.js';
import { DuckWorkspace } from './workspace.js';

export function workspaceFor(svc: Services): Promise<DuckWorkspace> {
  return DuckWorkspace.open(path.join(svc.config.dataDir, 'tmp'));
}

/**
 * Runs `fn` over a stored version's Parquet, decrypted into a fresh workspace that is removed
 * afterwards (DuckDB reads files, not streams).
 */
export async function withVersionFile<T>(
  svc: Services,
  digest: string,
  fn: (ws: DuckWorkspace, file: string) => Promise<T>,
): Promise<T> {
  const ws = await workspaceFor(svc);
  try {
    return await fn(ws, await blobToFile(svc, digest, ws.file('version.parquet')));
  } finally {
    await ws.close();
  }
}

/** Resolves "dataset@N" within the project to a local Parquet copy inside `ws`. */
export function referenceResolver(svc: Services, db: Executor, projectId: string, ws: DuckWorkspace) {
  return async (ref: string): Promise<string> => {
    const at = ref.lastIndexOf('@');
    const d = await findDataset(db, projectId, ref.slice(0, at));
    const v = await findVersion(db, d, ref.slice(at + 1));
    return blobToFile(svc, v.digest, ws.file(`ref-${newId()}.parquet`));
  };
}

export interface NewVersionInput {
  /** The uploaded bytes, on disk inside `ws`. */
  file: string;
  fileName: string;
  format: SourceFormat;
}

export async function createVersion(
  svc: Services,
  req: FastifyRequest,
  project: ProjectAccess,
  dataset: DataDatasetsTable,
  ws: DuckWorkspace,
  input: NewVersionInput,
) {
  const out = ws.file('version.parquet');
  const ingest = await ingestFile(ws, input.file, input.fileName, input.format, out);
  const profile = await computeProfile(ws, 'read_parquet($1)', [out], ingest.schema);
  const pii = await detectPii(ws, out, ingest.schema);
  const suite = parseStoredSuite(dataset);
  const validation: ValidationResult | null = suite
    ? await runSuite(ws, out, ingest.schema, suite, {
        reference: referenceResolver(svc, svc.store.db, project.id, ws),
      })
    : null;
  // Under the shared reaper: a blob deduplicated against one being swept must not vanish.
  const reaper = svc.reaper;
  const release = await reaper.enter();
  let committed = false;
  let stored: string | undefined;
  try {
    const { digest, size } = await putParquet(svc, out);
    stored = digest;
    const result = await audited(
      svc,
      req,
      async (tx) => {
        const parent = await latestVersion(tx, dataset.id);
        const number = parent ? Number(parent.version) + 1 : 1;
        const now = svc.clock.now();
        const by = req.identity!.username;
        const id = newId();
        const status = validation ? (validation.success ? 'passed' : 'failed') : 'unvalidated';
        const parentSchema = parent ? (JSON.parse(parent.schema) as ColumnSchema[]) : null;
        const row = {
          id,
          dataset_id: dataset.id,
          version: number,
          digest,
          size,
          row_count: ingest.rowCount,
          schema: JSON.stringify(ingest.schema),
          schema_diff: parentSchema ? JSON.stringify(diffSchemas(parentSchema, ingest.schema)) : null,
          profile: JSON.stringify(profile),
          source: JSON.stringify({
            fileName: input.fileName,
            format: ingest.format,
            bytes: ingest.bytes,
            warnings: ingest.warnings,
          }),
          parent_version: parent ? Number(parent.version) : null,
          status,
          override: null,
          created_at: now,
          created_by: by,
        };
        try {
          await tx.insertInto('data_versions').values(row).execute();
        } catch (err) {
          if (isUniqueViolation(err)) {
            throw new FalajError(
              'FALAJ_CONFLICT',
              `another version of '${dataset.name}' was created at the same time: upload again`,
              { dataset: dataset.name },
            );
          }
          throw err;
        }
        // The version's artifact row: a path already taken (by a file someone put there) is a
        // conflict, never overwritten.
        const artifactPath = versionArtifactPath(dataset.name, number);
        if (await findArtifact(tx, project.id, artifactPath)) {
          throw new FalajError('FALAJ_CONFLICT', `the artifact path '${artifactPath}' is taken`, {});
        }
        await upsertArtifact(tx, {
          project_id: project.id,
          path: artifactPath,
          digest,
          size,
          content_type: 'application/vnd.apache.parquet',
          created_at: now,
          created_by: by,
        });
        // Detected tags only for columns nobody has tagged: a user's tags are never replaced.
        const tagged = new Set(
          (
            await tx
              .selectFrom('data_column_tags')
              .select('column_name')
              .where('dataset_id', '=', dataset.id)
              .execute()
          ).map((r) => r.column_name),
        );
        const detected = Object.entries(pii).filter(([column]) => !tagged.has(column));
        if (detected.length > 0) {
          await tx
            .insertInto('data_column_tags')
            .values(
              detected.map(([column, tag]) => ({
                dataset_id: dataset.id,
                column_name: column,
                tags: JSON.stringify(['pii', tag]),
                source: 'detected',
                updated_at: now,
                updated_by: by,
              })),
            )
            .execute();
        }
        if (validation && suite) {
          await tx
            .insertInto('data_validations')
            .values({
              id: newId(),
              version_id: id,
              suite: JSON.stringify(suite),
              result: JSON.stringify(validation),
              success: validation.success ? 1 : 0,
              created_at: now,
              created_by: by,
            })
            .execute();
        }
        return {
          result: { number, validation },
          audit: {
            action: 'dataset.version.create',
            objectType: 'dataset_version',
            objectId: `${project.name}/${dataset.name}@${number}`,
            projectId: project.id,
            details: {
              digest,
              rows: ingest.rowCount,
              status,
              fileName: input.fileName,
              piiDetected: Object.fromEntries(detected),
            },
          },
        };
      },
      201,
    );
    committed = true;
    return result;
  } finally {
    release();
    if (stored && !committed) void reaper.consider(stored);
  }
}

/** What other domains show of a dataset version (a lineage node's label): its name, number and data. */
export interface VersionSummary {
  id: string;
  dataset: string;
  version: number;
  digest: string;
  rowCount: number;
}

/** The project's dataset versions among `ids` (ids of other projects and unknown ids left out). */
export async function versionSummaries(
  db: Executor,
  projectId: string,
  ids: readonly string[],
): Promise<Map<string, VersionSummary>> {
  const out = new Map<string, VersionSummary>();
  const unique = [...new Set(ids)];
  // In slices: SQLite binds at most 32,766 parameters.
  for (let i = 0; i < unique.length; i += 5000) {
    const rows = await db
      .selectFrom('data_versions as v')
      .innerJoin('data_datasets as d', 'd.id', 'v.dataset_id')
      .select(['v.id', 'd.name', 'v.version', 'v.digest', 'v.row_count'])
      .where('d.project_id', '=', projectId)
      .where('v.id', 'in', unique.slice(i, i + 5000))
      .execute();
    for (const r of rows)
      out.set(r.id, {
        id: r.id,
        dataset: r.name,
        version: Number(r.version),
        digest: r.digest,
        rowCount: Number(r.row_count),
      });
  }
  return out;
}
