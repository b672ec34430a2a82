// The data domain's tables: datasets, versions, column tags, validation results.
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Executor } from '../store/executor.js';
import type { DataDatasetsTable, DataVersionsTable } from '../store/schema.js';
import { isUniqueViolation } from '../tracking/ids.js';
import type { ColumnSchema, Profile, SchemaDiff, Suite, ValidationResult, VersionStatus } from './types.js';

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

/** Adds a dataset to a project; a name already taken is a conflict. */
export async function createDataset(
  tx: Executor,
  p: { projectId: string; name: string; description: string; suite: Suite | null; now: number; by: string },
): Promise<DataDatasetsTable> {
  const row = {
    id: newId(),
    project_id: p.projectId,
    name: p.name,
    description: p.description,
    suite: p.suite ? JSON.stringify(p.suite) : null,
    created_at: p.now,
    created_by: p.by,
  };
  try {
    await tx.insertInto('data_datasets').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err))
      throw new FalajError('FALAJ_CONFLICT', `dataset '${row.name}' already exists`, {
        name: row.name,
      });
    throw err;
  }
  return row;
}

/** The datasets of a project by name, each with its greatest version number in `latest` (null before the first). */
export async function listDatasets(db: Executor, projectId: string) {
  return db
    .selectFrom('data_datasets as d')
    .selectAll('d')
    .select((eb) =>
      eb
        .selectFrom('data_versions as v')
        .whereRef('v.dataset_id', '=', 'd.id')
        .select((e) => e.fn.max('v.version').as('m'))
        .as('latest'),
    )
    .where('d.project_id', '=', projectId)
    .orderBy('d.name')
    .execute();
}

/** Sets the validation suite of a dataset, or with null removes it. */
export async function setSuite(tx: Executor, datasetId: string, suite: Suite | null): Promise<void> {
  await tx
    .updateTable('data_datasets')
    .set({ suite: suite ? JSON.stringify(suite) : null })
    .where('id', '=', datasetId)
    .execute();
}

/** Sets a column's tags as the user's; answers the tags it had before (none when untagged). */
export async function setColumnTags(
  tx: Executor,
  datasetId: string,
  column: string,
  tags: string[],
  p: { now: number; by: string },
): Promise<string[]> {
  const previous = await tx
    .selectFrom('data_column_tags')
    .select('tags')
    .where('dataset_id', '=', datasetId)
    .where('column_name', '=', column)
    .executeTakeFirst();
  const values = {
    tags: JSON.stringify(tags),
    source: 'user',
    updated_at: p.now,
    updated_by: p.by,
  };
  await tx
    .insertInto('data_column_tags')
    .values({ dataset_id: datasetId, column_name: column, ...values })
    .onConflict((oc) => oc.columns(['dataset_id', 'column_name']).doUpdateSet(values))
    .execute();
  return previous ? (JSON.parse(previous.tags) as string[]) : [];
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

/** The dataset named in the project and its version `spec` (a number or 'latest'). */
export async function findDatasetVersion(
  db: Executor,
  projectId: string,
  dataset: string,
  spec: string,
): Promise<{ d: DataDatasetsTable; v: DataVersionsTable }> {
  const d = await findDataset(db, projectId, dataset);
  return { d, v: await findVersion(db, d, spec) };
}

/** The versions of a dataset, newest first. */
export async function listVersions(db: Executor, datasetId: string): Promise<DataVersionsTable[]> {
  return db
    .selectFrom('data_versions')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .orderBy('version', 'desc')
    .execute();
}

/** The result of the last recorded validation of a version, if any. */
export async function lastValidation(db: Executor, versionId: string): Promise<ValidationResult | null> {
  const last = await db
    .selectFrom('data_validations')
    .select('result')
    .where('version_id', '=', versionId)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return last ? (JSON.parse(last.result) as ValidationResult) : null;
}

/** Records a validation of a version against its dataset's suite and sets the version's status from it. */
export async function recordValidation(
  tx: Executor,
  versionId: string,
  suite: Suite,
  result: ValidationResult,
  p: { now: number; by: string },
): Promise<VersionStatus> {
  const status = result.success ? 'passed' : 'failed';
  await tx.updateTable('data_versions').set({ status }).where('id', '=', versionId).execute();
  await tx
    .insertInto('data_validations')
    .values({
      id: newId(),
      version_id: versionId,
      suite: JSON.stringify(suite),
      result: JSON.stringify(result),
      success: result.success ? 1 : 0,
      created_at: p.now,
      created_by: p.by,
    })
    .execute();
  return status;
}

/** Records who let a failed version feed training, when and why. */
export async function setOverride(
  tx: Executor,
  versionId: string,
  override: { by: string; at: string; reason: string },
): Promise<void> {
  await tx
    .updateTable('data_versions')
    .set({ override: JSON.stringify(override) })
    .where('id', '=', versionId)
    .execute();
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
