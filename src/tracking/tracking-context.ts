import { type TSchema, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../http/services.js';
import type { ExperimentStore } from './experiment-store.js';
import { scalar } from './query.js';
import type { RunStore } from './run-store.js';
import { invalid, validateString } from './validation.js';

/** What the MLflow route files share. */
export interface TrackingContext {
  svc: Services;
  experiments: ExperimentStore;
  runs: RunStore;
}

function experimentIdOf(value: unknown): string {
  const id = scalar(value);
  if (id === undefined || id === null || id === '')
    throw invalid("Missing value for required parameter 'experiment_id'");
  return validateString('experiment_id', id, 64);
}

/** The request's experiment id, MLflow's "0" resolved to the project's default experiment. */
export function experimentIdIn(ctx: TrackingContext, req: FastifyRequest, value: unknown): Promise<string> {
  return ctx.experiments.resolve(ctx.svc.store.db, req.project!.id, experimentIdOf(value));
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
