import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import { deleteSecret, listSecrets, putSecret, SECRET_NAME } from './project-secrets.js';

const Params = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  name: Type.String({ pattern: SECRET_NAME.source }),
});

/**
 * Project secrets for jobs (`secrets: {ENV: name}` in a job spec). Values go in and never come
 * out through the API: a job receives them in its environment at launch. Maintainers manage
 * them; the audit log records names only.
 */
export async function secretRoutes(app: FalajApp, svc: Services): Promise<void> {
  app.put(
    '/api/v1/projects/:project/secrets/:name',
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: ['secrets'],
        summary: 'Create or replace a secret (its value is sealed; it is never returned)',
        params: Params,
        body: Type.Object(
          { value: Type.String({ minLength: 1, maxLength: 65_536 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ name: Type.String(), outcome: Type.String() }) },
      },
    },
    async (req) => {
      const project = req.project!;
      return audited(svc, req, async (tx) => {
        const outcome = await putSecret(tx, svc.keyring, {
          projectId: project.id,
          name: req.params.name,
          value: req.body.value,
          user: req.identity!.username,
          now: svc.clock.now(),
        });
        return {
          result: { name: req.params.name, outcome },
          audit: {
            action: `secret.${outcome === 'created' ? 'create' : 'replace'}`,
            objectType: 'secret',
            objectId: `${project.name}/${req.params.name}`,
            projectId: project.id,
          },
        };
      });
    },
  );

  app.get(
    '/api/v1/projects/:project/secrets',
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: ['secrets'],
        summary: 'Secret names (never values)',
        params: Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) }),
      },
    },
    async (req) => {
      const rows = await listSecrets(svc.store.db, req.project!.id);
      return {
        secrets: rows.map((r) => ({
          name: r.name,
          createdBy: r.created_by,
          updatedAt: new Date(Number(r.updated_at)).toISOString(),
        })),
      };
    },
  );

  app.delete(
    '/api/v1/projects/:project/secrets/:name',
    {
      config: { permission: 'project:maintainer' },
      schema: { tags: ['secrets'], summary: 'Delete a secret', params: Params },
    },
    async (req, reply) => {
      const project = req.project!;
      await audited(svc, req, async (tx) => {
        if (!(await deleteSecret(tx, project.id, req.params.name)))
          throw new FalajError('FALAJ_NOT_FOUND', `secret '${req.params.name}' does not exist`, {
            name: req.params.name,
          });
        return {
          result: null,
          audit: {
            action: 'secret.delete',
            objectType: 'secret',
            objectId: `${project.name}/${req.params.name}`,
            projectId: project.id,
          },
        };
      });
      return reply.status(204).send();
    },
  );
}
