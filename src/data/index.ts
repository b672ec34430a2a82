// Datasets and versions, ingestion, profiles and validation suites.
export { dataRoutes } from './data-routes.js';
export { formatOf, type IngestResult, ingestFile, parquetFacts } from './ingest.js';
export { classify as classifyPii, detectPii, PII_TAGS, type PiiTag } from './pii.js';
export { computeProfile } from './profile.js';
export { diffSchemas } from './schema-diff.js';
export { suggestSuite } from './suggest.js';
export { EXPECTATIONS, parseSuite } from './suite.js';
export { assertUsableForTraining, type UsableVersion } from './training-gate.js';
export type * from './types.js';
export { runSuite } from './validate.js';
export { DuckWorkspace } from './workspace.js';
