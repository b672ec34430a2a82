// Schemas and lookups the staging route files share.
import { Type } from '@fastify/type-provider-typebox';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import type { Executor } from '../../store/executor.js';
import { getModel } from '../model-store.js';
import { getVersion, parseVersionNumber } from '../version-store.js';

export const TAGS = ['registry-staging'];
export const MODELS = '/api/v1/projects/:project/models';
/** Promotion requests are a project's queue of decisions: addressed by id, whatever the model. */
export const PROMOTIONS = '/api/v1/projects/:project/model-promotions';
export const WEBHOOKS = '/api/v1/projects/:project/model-webhooks';

export const Json = Type.Unknown();
const Project = Type.String({ pattern: PROJECT_NAME_PATTERN });
const Name = Type.String({ minLength: 1, maxLength: 256 });
export const ProjectParams = Type.Object({ project: Project });
export const ModelParams = Type.Object({ project: Project, name: Name });
export const VersionParams = Type.Object({
  project: Project,
  name: Name,
  version: Type.String({ pattern: '^\\d{1,15}$' }),
});
export const EvaluationParams = Type.Object({
  project: Project,
  name: Name,
  version: Type.String({ pattern: '^\\d{1,15}$' }),
  id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
});
export const IdParams = Type.Object({ project: Project, id: Type.String({ pattern: '^[0-9a-f]{32}$' }) });
export const Columns = Type.Array(Type.String({ minLength: 1, maxLength: 250 }), { maxItems: 100 });

/** The model and version a route names, or FALAJ_MODEL_NOT_FOUND / FALAJ_MODEL_VERSION_NOT_FOUND. */
export async function locate(db: Executor, projectId: string, name: string, version: string) {
  const model = await getModel(db, projectId, name);
  return { model, version: await getVersion(db, model, parseVersionNumber(version)) };
}
