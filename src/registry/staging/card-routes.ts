// The model card of a version: generated (JSON or Markdown), with its hand-written parts.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import { buildCard, cardMarkdown, setCardText } from './card.js';
import { Json, locate, MODELS, TAGS, VersionParams } from './route-schemas.js';

export async function cardRoutes(app: FalajApp, svc: Services): Promise<void> {
  const db = () => svc.store.db;
  const path = `${MODELS}/:name/versions/:version/card`;

  app.get(
    path,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          'The model card: model details, training data (digests, rows, PII columns), parameters and CV metrics, evaluations, fairness by group, gate runs, approvals (`format=md` for Markdown)',
        params: VersionParams,
        querystring: Type.Object(
          { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('md')])) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const { model, version } = await locate(db(), project.id, req.params.name, req.params.version);
      const card = await buildCard(svc, db(), project, model, version);
      if (req.query.format === 'md')
        return reply.type('text/markdown; charset=utf-8').send(cardMarkdown(card));
      return card;
    },
  );

  app.put(
    path,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Set the hand-written parts of the card (intended use, limitations); null or empty clears one',
        params: VersionParams,
        body: Type.Object(
          {
            intendedUse: Type.Optional(Type.Union([Type.String({ maxLength: 20_000 }), Type.Null()])),
            limitations: Type.Optional(Type.Union([Type.String({ maxLength: 20_000 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const { model, version } = await locate(db(), project.id, req.params.name, req.params.version);
      return setCardText(svc, req, project, model, version, req.body);
    },
  );
}
