import { type TSchema, Type } from '@fastify/type-provider-typebox';
import type { Services } from '../http/services.js';
import type { ExperimentStore } from './experiment-store.js';
import type { RunStore } from './run-store.js';

/** What the MLflow route files share. */
export interface TrackingContext {
  svc: Services;
  experiments: ExperimentStore;
  runs: RunStore;
}

/** How MLflow names a run in a body or query (documented with `loose`). */
export const RUN_ID = { run_id: 'the run id', run_uuid: 'legacy name of run_id' };

/**
 * A body or query schema that documents MLflow's fields for OpenAPI but checks only that the
 * body is an object: unknown fields are ignored, as MLflow does, and the handlers validate
 * the fields themselves so that errors carry MLflow's messages.
 */
export function loose(fields: Record<string, string>): TSchema {
  const props: Record<string, TSchema> = {};
  for (const [name, description] of Object.entries(fields))
    props[name] = Type.Optional(Type.Unknown({ description }));
  return Type.Object(props, { additionalProperties: true });
}
