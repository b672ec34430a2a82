// Validating a version against a suite, and letting a failed version feed training anyway.
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import {
  columnTags,
  findDataset,
  findDatasetVersion,
  findVersion,
  parseStoredSuite,
  recordValidation,
  setOverride,
  versionView,
} from './dataset-store.js';
import { Json, SuiteBody, VERSIONS_BASE, VersionParams } from './route-schemas.js';
import { parseSuite } from './suite.js';
import { runSuite } from './validate.js';
import { referenceResolver, withVersionFile } from './version-service.js';

export async function versionValidationRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;
  const base = VERSIONS_BASE;

  app.post(
    `${base}/:version/validate`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['datasets'],
        summary:
          "Validate a version: with `suite` in the body, that suite (nothing recorded); without, the dataset's suite (recorded; sets the version's status)",
        params: VersionParams,
        body: Type.Optional(
          Type.Object({ suite: Type.Optional(SuiteBody) }, { additionalProperties: false }),
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const { d, v } = await findDatasetVersion(store.db, project.id, req.params.dataset, req.params.version);
      const adHoc = req.body?.suite ? parseSuite(req.body.suite) : null;
      const suite = adHoc ?? parseStoredSuite(d);
      if (!suite)
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          `dataset '${d.name}' has no suite: send one in the body or set one`,
          { dataset: d.name },
        );
      const result = await withVersionFile(svc, v.digest, (ws, parquet) =>
        runSuite(ws, parquet, JSON.parse(v.schema), suite, {
          reference: referenceResolver(svc, store.db, project.id, ws),
        }),
      );
      if (adHoc) return result;
      return audited(svc, req, async (tx) => {
        const status = await recordValidation(tx, v.id, suite, result, {
          now: svc.clock.now(),
          by: req.identity!.username,
        });
        return {
          result,
          audit: {
            action: 'dataset.version.validate',
            objectType: 'dataset_version',
            objectId: `${project.name}/${d.name}@${v.version}`,
            projectId: project.id,
            details: { status, previousStatus: v.status, ...result.statistics },
          },
        };
      });
    },
  );

  app.post(
    `${base}/:version/override`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: ['datasets'],
        summary: 'Let a version that failed validation feed training anyway (admins; the reason is audited)',
        params: VersionParams,
        body: Type.Object(
          { reason: Type.String({ minLength: 3, maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      return audited(svc, req, async (tx) => {
        const d = await findDataset(tx, project.id, req.params.dataset);
        const v = await findVersion(tx, d, req.params.version);
        if (v.status !== 'failed')
          throw new FalajError(
            'FALAJ_CONFLICT',
            `${d.name}@${v.version} has not failed validation (status ${v.status}): nothing to override`,
            { status: v.status },
          );
        const override = {
          by: req.identity!.username,
          at: new Date(svc.clock.now()).toISOString(),
          reason: req.body.reason,
        };
        await setOverride(tx, v.id, override);
        return {
          result: versionView(d, { ...v, override: JSON.stringify(override) }, await columnTags(tx, d.id)),
          audit: {
            action: 'dataset.version.override',
            objectType: 'dataset_version',
            objectId: `${project.name}/${d.name}@${v.version}`,
            projectId: project.id,
            details: { reason: req.body.reason },
          },
        };
      });
    },
  );
}
