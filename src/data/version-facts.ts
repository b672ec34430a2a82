// What other domains read of dataset versions (the registry's evaluation data, training data
// and model cards): facts by id, digest or name, and the PII-tagged columns. Other domains go
// through these, never through the data_* tables.
import type { Executor } from '../store/executor.js';

export interface DataVersionFacts {
  id: string;
  datasetId: string;
  dataset: string;
  version: number;
  digest: string;
  rowCount: number;
  status: string;
  overridden: boolean;
  /** JSON [{name, type}] as stored. */
  schema: string;
}

const DATA_VERSION_COLUMNS = [
  'v.id',
  'v.dataset_id',
  'd.name',
  'v.version',
  'v.digest',
  'v.row_count',
  'v.status',
  'v.override',
  'v.schema',
] as const;

function toFacts(r: {
  id: string;
  dataset_id: string;
  name: string;
  version: number;
  digest: string;
  row_count: number;
  status: string;
  override: string | null;
  schema: string;
}): DataVersionFacts {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    dataset: r.name,
    version: Number(r.version),
    digest: r.digest,
    rowCount: Number(r.row_count),
    status: r.status,
    overridden: r.override !== null,
    schema: r.schema,
  };
}

/** Dataset versions of the project by id (unknown ids skipped). */
export async function dataVersionsByIds(
  db: Executor,
  projectId: string,
  ids: readonly string[],
): Promise<DataVersionFacts[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('data_versions as v')
    .innerJoin('data_datasets as d', 'd.id', 'v.dataset_id')
    .select(DATA_VERSION_COLUMNS)
    .where('d.project_id', '=', projectId)
    .where('v.id', 'in', [...ids])
    .orderBy('d.name')
    .orderBy('v.version')
    .execute();
  return rows.map(toFacts);
}

/** Dataset versions of the project whose Parquet has one of these digests. */
export async function dataVersionsByDigests(
  db: Executor,
  projectId: string,
  digests: readonly string[],
): Promise<DataVersionFacts[]> {
  if (digests.length === 0) return [];
  const rows = await db
    .selectFrom('data_versions as v')
    .innerJoin('data_datasets as d', 'd.id', 'v.dataset_id')
    .select(DATA_VERSION_COLUMNS)
    .where('d.project_id', '=', projectId)
    .where('v.digest', 'in', [...digests])
    .orderBy('d.name')
    .orderBy('v.version')
    .execute();
  return rows.map(toFacts);
}

/** One version of a dataset of the project by name, or undefined. */
export async function dataVersionByName(
  db: Executor,
  projectId: string,
  dataset: string,
  version: number,
): Promise<DataVersionFacts | undefined> {
  const r = await db
    .selectFrom('data_versions as v')
    .innerJoin('data_datasets as d', 'd.id', 'v.dataset_id')
    .select(DATA_VERSION_COLUMNS)
    .where('d.project_id', '=', projectId)
    .where('d.name', '=', dataset)
    .where('v.version', '=', version)
    .executeTakeFirst();
  return r ? toFacts(r) : undefined;
}

/** The ids of every version of a dataset of the project (none when it does not exist). */
export async function versionIdsOfDataset(
  db: Executor,
  projectId: string,
  dataset: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('data_versions as v')
    .innerJoin('data_datasets as d', 'd.id', 'v.dataset_id')
    .select('v.id')
    .where('d.project_id', '=', projectId)
    .where('d.name', '=', dataset)
    .execute();
  return rows.map((r) => r.id);
}

/** Columns of the dataset tagged as PII, with their tags. */
export async function piiColumns(
  db: Executor,
  datasetId: string,
): Promise<{ column: string; tags: string[] }[]> {
  const rows = await db
    .selectFrom('data_column_tags')
    .select(['column_name', 'tags'])
    .where('dataset_id', '=', datasetId)
    .orderBy('column_name')
    .execute();
  return rows
    .map((r) => ({ column: r.column_name, tags: JSON.parse(r.tags) as string[] }))
    .filter((r) => r.tags.includes('pii'));
}
