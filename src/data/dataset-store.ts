// The data domain's tables: datasets, versions, column tags, validation results.
import { FalajError } from '../core/errors.js';
import type { Executor } from '../store/executor.js';
import type { DataDatasetsTable, DataVersionsTable } from '../store/schema.js';
import type { ColumnSchema, Profile, SchemaDiff, Suite, VersionStatus } from './types.js';

export const DATASET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

export async function findDataset(db: Executor, projectId: string, name: string): Promise<DataDatasetsTable> {
  const row = await db
    .selectFrom('data_datasets')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (!row)
    throw new FalajError('FALAJ_NOT_FOUND', `dataset '${name}' does not exist`, {
      kind: 'dataset',
      id: name,
    });
  return row;
}

export async function latestVersion(db: Executor, datasetId: string): Promise<DataVersionsTable | undefined> {
  return db
    .selectFrom('data_versions')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** `spec`: a version number or 'latest'. */
export async function findVersion(
  db: Executor,
  dataset: DataDatasetsTable,
  spec: string,
): Promise<DataVersionsTable> {
  const row =
    spec === 'latest'
      ? await latestVersion(db, dataset.id)
      : /^\d+$/.test(spec)
        ? await db
            .selectFrom('data_versions')
            .selectAll()
            .where('dataset_id', '=', dataset.id)
            .where('version', '=', Number(spec))
            .executeTakeFirst()
        : undefined;
  if (!row) {
    throw new FalajError('FALAJ_NOT_FOUND', `version '${spec}' of dataset '${dataset.name}' does not exist`, {
      kind: 'dataset version',
      id: `${dataset.name}@${spec}`,
    });
  }
  return row;
}

/** Tags of every tagged column of a dataset. */
export async function columnTags(
  db: Executor,
  datasetId: string,
): Promise<Map<string, { tags: string[]; source: string }>> {
  const rows = await db
    .selectFrom('data_column_tags')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .execute();
  return new Map(
    rows.map((r) => [r.column_name, { tags: JSON.parse(r.tags) as string[], source: r.source }]),
  );
}

export function datasetView(row: DataDatasetsTable, latest?: number | null) {
  return {
    name: row.name,
    description: row.description,
    hasSuite: row.suite !== null,
    latestVersion: latest ?? null,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    createdBy: row.created_by,
  };
}

export function versionView(
  dataset: DataDatasetsTable,
  row: DataVersionsTable,
  tags: Map<string, { tags: string[] }>,
) {
  const schema = JSON.parse(row.schema) as ColumnSchema[];
  return {
    dataset: dataset.name,
    version: Number(row.version),
    digest: row.digest,
    size: Number(row.size),
    rowCount: Number(row.row_count),
    schema: schema.map((c) => ({ ...c, tags: tags.get(c.name)?.tags ?? [] })),
    schemaDiff: row.schema_diff ? (JSON.parse(row.schema_diff) as SchemaDiff) : null,
    source: JSON.parse(row.source) as { fileName: string; format: string; bytes: number; warnings: string[] },
    parentVersion: row.parent_version === null ? null : Number(row.parent_version),
    status: row.status as VersionStatus,
    override: row.override ? (JSON.parse(row.override) as { by: string; at: string; reason: string }) : null,
    usableForTraining: row.status !== 'failed' || row.override !== null,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    createdBy: row.created_by,
  };
}

export function parseProfile(row: DataVersionsTable): Profile {
  return JSON.parse(row.profile) as Profile;
}

export function parseStoredSuite(row: DataDatasetsTable): Suite | null {
  return row.suite ? (JSON.parse(row.suite) as Suite) : null;
}
