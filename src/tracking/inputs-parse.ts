import { LIMITS } from './limits.js';
import type { DatasetInput } from './run-store.js';
import { invalid, parseTags, validateString } from './validation.js';

/** The `datasets` of runs/log-inputs: [{tags, dataset: {name, digest, source_type, source, schema, profile}}]. */
export function parseDatasetInputs(value: unknown): DatasetInput[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid("Invalid value for parameter 'datasets': expected a list");
  if (value.length > LIMITS.datasetsPerRequest)
    throw invalid(
      `A request can log at most ${LIMITS.datasetsPerRequest} dataset inputs. Got ${value.length}.`,
    );
  return value.map((raw) => {
    const input =
      typeof raw === 'object' && raw !== null && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : null;
    const d = input?.dataset;
    if (!input || typeof d !== 'object' || d === null || Array.isArray(d))
      throw invalid("Invalid value for parameter 'datasets': each needs a 'dataset' object");
    const ds = d as Record<string, unknown>;
    const optional = (field: string) =>
      ds[field] === undefined || ds[field] === null
        ? null
        : validateString(`dataset.${field}`, ds[field], LIMITS.datasetSchemaLength);
    return {
      tags: parseTags('datasets.tags', input.tags),
      dataset: {
        name: validateString('dataset.name', ds.name, LIMITS.datasetFieldLength),
        digest: validateString('dataset.digest', ds.digest, LIMITS.datasetFieldLength),
        sourceType: validateString('dataset.source_type', ds.source_type, LIMITS.datasetFieldLength),
        source: validateString('dataset.source', ds.source, LIMITS.datasetSchemaLength),
        schema: optional('schema'),
        profile: optional('profile'),
      },
    };
  });
}
