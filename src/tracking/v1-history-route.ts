import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { FalajError } from '../core/errors.js';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { encodeChunk } from './metric-chunk.js';
import { metricHistory } from './metric-store.js';
import { requireRunIn } from './run-store.js';
import { wireDouble } from './wire.js';

/** Points per page: JSON pages are built as text, binary pages are the stored arrays. */
const JSON_PAGE = { default: 25_000, max: 100_000 };
const F64_PAGE = { default: 1_000_000, max: 1_000_000 };

/**
 * One metric's history in pages, as columns. `format=f64` answers with the page's steps,
 * timestamps and values packed as little-endian float64 ([steps | timestamps | values], the
 * point count in `X-Falaj-Points`, the next token in `X-Falaj-Next-Page-Token`): a chart or an
 * SDK reads it into Float64Arrays without parsing, which MLflow's one-object-per-point JSON
 * cannot match (formatting and parsing the numbers is most of its cost).
 */
export function metricHistoryRoute(app: FalajApp, svc: Services): void {
  const { store } = svc;
  app.get(
    '/api/v1/projects/:project/runs/:runId/metric-history',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['tracking'],
        summary: 'One metric of a run, in pages of columns (JSON) or packed float64 (format=f64)',
        params: Type.Object({
          project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
          runId: Type.String({ pattern: '^[0-9a-f]{32}$' }),
        }),
        querystring: Type.Object(
          {
            key: Type.String({ minLength: 1, maxLength: 250 }),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('f64')])),
            maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: F64_PAGE.max })),
            pageToken: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            key: Type.String(),
            steps: Type.Array(Type.Number()),
            timestamps: Type.Array(Type.Number()),
            values: Type.Array(
              Type.Union([
                Type.Number(),
                Type.Literal('NaN'),
                Type.Literal('Infinity'),
                Type.Literal('-Infinity'),
              ]),
            ),
            nextPageToken: Type.Optional(Type.String()),
          }),
        },
      },
    },
    async (req, typedReply) => {
      // Both bodies are written here, not by the schema serializer (see the comment below).
      const reply = typedReply as unknown as FastifyReply;
      const { runId } = req.params;
      const { key, format = 'json', pageToken } = req.query;
      const limits = format === 'f64' ? F64_PAGE : JSON_PAGE;
      const max = req.query.maxResults ?? limits.default;
      if (max > limits.max)
        throw new FalajError('FALAJ_VALIDATION', `maxResults is at most ${limits.max} for format=${format}`, {
          field: 'maxResults',
          max: limits.max,
        });
      await requireRunIn(store.db, req.project!.id, runId);
      const page = await metricHistory(store.db, runId, key, max, pageToken);
      if (format === 'f64') {
        reply.header('x-falaj-points', String(page.steps.length));
        if (page.nextPageToken) reply.header('x-falaj-next-page-token', page.nextPageToken);
        return reply.type('application/octet-stream').send(encodeChunk(page));
      }
      const values = Array.from(page.values, (v) => (Number.isFinite(v) ? v : JSON.stringify(wireDouble(v))));
      const token = page.nextPageToken ? `,"nextPageToken":${JSON.stringify(page.nextPageToken)}` : '';
      // Built as text: number arrays join as JSON, and the schema serializer is skipped for strings.
      return reply
        .type('application/json; charset=utf-8')
        .send(
          `{"key":${JSON.stringify(key)},"steps":[${page.steps.join(',')}],"timestamps":[${page.timestamps.join(',')}],"values":[${values.join(',')}]${token}}`,
        );
    },
  );
}
