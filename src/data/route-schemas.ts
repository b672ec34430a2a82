import { Type } from '@fastify/type-provider-typebox';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { DATASET_NAME_PATTERN } from './dataset-store.js';

/** Where a dataset's versions live; the version plugins' routes are under it. */
export const VERSIONS_BASE = '/api/v1/projects/:project/datasets/:dataset/versions';

export const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });
export const DatasetParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  dataset: Type.String({ pattern: DATASET_NAME_PATTERN }),
});
export const VersionParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  dataset: Type.String({ pattern: DATASET_NAME_PATTERN }),
  version: Type.String({ pattern: '^(\\d{1,9}|latest)$' }),
});

/** Suites and results are free-form JSON here; parseSuite checks suites with precise messages. */
export const Json = Type.Unknown();
export const SuiteBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    expectations: Type.Array(Type.Unknown()),
    meta: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const DatasetSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  hasSuite: Type.Boolean(),
  latestVersion: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
