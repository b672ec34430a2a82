// Promotion to a protected alias: an editor requests it on a model version; maintainers
// approve or reject it by request id (a project admin may override failed gates); the
// requester may cancel it.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp } from '../../http/services.js';
import { getModel } from '../model-store.js';
import type { RegistryContext } from '../registry-service.js';
import { approvePromotion, cancelPromotion, rejectPromotion, requestPromotion } from './promotion-service.js';
import { getPromotion, listPromotions, type PromotionState, promotionView } from './promotion-store.js';
import {
  IdParams,
  Json,
  locate,
  MODELS,
  ModelParams,
  PROMOTIONS,
  ProjectParams,
  TAGS,
  VersionParams,
} from './route-schemas.js';

const State = Type.Union([
  Type.Literal('pending'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('cancelled'),
]);
const ListQuery = Type.Object(
  { state: Type.Optional(State), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);

export async function promotionRoutes(app: FalajApp, ctx: RegistryContext): Promise<void> {
  const { svc } = ctx;
  const db = () => svc.store.db;

  app.post(
    `${MODELS}/:name/versions/:version/promotions`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Request that a protected alias point at this version: the gates run now and again at approval; 201 with the request and its gate run',
        params: VersionParams,
        body: Type.Object(
          {
            alias: Type.String({ minLength: 1, maxLength: 255 }),
            note: Type.Optional(Type.String({ maxLength: 10_000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Json },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const { model, version } = await locate(db(), project.id, req.params.name, req.params.version);
      const out = await requestPromotion(
        ctx,
        req,
        project,
        model,
        version,
        req.body.alias,
        req.body.note ?? '',
      );
      return reply.status(201).send(out);
    },
  );

  app.get(
    `${MODELS}/:name/promotions`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: "The model's promotion requests, newest first",
        params: ModelParams,
        querystring: ListQuery,
        response: { 200: Json },
      },
    },
    async (req) => {
      const model = await getModel(db(), req.project!.id, req.params.name);
      const rows = await listPromotions(db(), req.project!.id, {
        modelId: model.id,
        ...(req.query.state ? { state: req.query.state as PromotionState } : {}),
        ...(req.query.limit ? { limit: req.query.limit } : {}),
      });
      return { requests: rows.map(promotionView) };
    },
  );

  app.get(
    PROMOTIONS,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: "The project's promotion requests (of every model), newest first",
        params: ProjectParams,
        querystring: ListQuery,
        response: { 200: Json },
      },
    },
    async (req) => {
      const rows = await listPromotions(db(), req.project!.id, {
        ...(req.query.state ? { state: req.query.state as PromotionState } : {}),
        ...(req.query.limit ? { limit: req.query.limit } : {}),
      });
      return { requests: rows.map(promotionView) };
    },
  );

  app.get(
    `${PROMOTIONS}/:id`,
    {
      config: { permission: 'project:viewer' },
      schema: { tags: TAGS, summary: 'One promotion request', params: IdParams, response: { 200: Json } },
    },
    async (req) => promotionView(await getPromotion(db(), req.project!.id, req.params.id)),
  );

  app.post(
    `${PROMOTIONS}/:id/approve`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary:
          'Approve (four eyes: not the requester); the gates run again and must pass, unless a project admin overrides them with `overrideReason`. The alias moves in the same transaction',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { overrideReason: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 200: Json },
      },
    },
    async (req) => approvePromotion(ctx, req, req.project!, req.params.id, req.body?.overrideReason),
  );

  app.post(
    `${PROMOTIONS}/:id/reject`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary: 'Reject a pending request, with a reason',
        params: IdParams,
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: 10_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => rejectPromotion(ctx, req, req.project!, req.params.id, req.body.reason),
  );

  app.post(
    `${PROMOTIONS}/:id/cancel`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'Withdraw a pending request (its requester, or a maintainer)',
        params: IdParams,
        response: { 200: Json },
      },
    },
    async (req) => cancelPromotion(svc, req, req.project!, req.params.id),
  );
}
