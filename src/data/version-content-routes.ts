// What is read from a stored version: its profile, a suite suggested from it, its Parquet.
import type { FalajApp, Services } from '../http/services.js';
import { findDatasetVersion, parseProfile } from './dataset-store.js';
import { Json, VERSIONS_BASE, VersionParams } from './route-schemas.js';
import { suggestSuite } from './suggest.js';

export async function versionContentRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;
  const base = VERSIONS_BASE;
  const load = (project: string, dataset: string, version: string) =>
    findDatasetVersion(store.db, project, dataset, version);

  app.get(
    `${base}/:version/profile`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'The profile computed when the version was created',
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => parseProfile((await load(req.project!.id, req.params.dataset, req.params.version)).v),
  );

  app.get(
    `${base}/:version/suggested-suite`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'A validation suite proposed from the version profile, to edit and set',
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const { d, v } = await load(req.project!.id, req.params.dataset, req.params.version);
      return suggestSuite(parseProfile(v), `${d.name}-suggested`);
    },
  );

  app.get(
    `${base}/:version/data`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'Download the version as Parquet (x-falaj-digest: SHA-256 of the bytes)',
        params: VersionParams,
      },
    },
    async (req, reply) => {
      const { d, v } = await load(req.project!.id, req.params.dataset, req.params.version);
      const body = await svc.artifacts.get(v.digest);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(v.size))
        .header('x-falaj-digest', v.digest)
        .header(
          'content-disposition',
          `attachment; filename="${encodeURIComponent(d.name)}-v${v.version}.parquet"`,
        )
        .send(body);
    },
  );
}
