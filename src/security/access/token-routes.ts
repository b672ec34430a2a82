import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../core/errors.js';
import { audited } from '../../http/audited.js';
import { INVOKE_ROLE, PROJECT_ROLES, parseRole, roleAtLeast, type TokenRole } from '../../http/roles.js';
import type { FalajApp, Services } from '../../http/services.js';
import { iso, Nullable } from '../../http/wire.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import { API_TOKEN_PREFIX, newSecretToken, sha256Hex } from '../secrets/secrets.js';
import {
  createToken,
  credentialStatus,
  findToken,
  listTokens,
  revokeToken,
  type TokenRow,
} from './token-store.js';

export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 365;
const DAY_MS = 86_400_000;

const RoleSchema = Type.Union([...PROJECT_ROLES, INVOKE_ROLE].map((r) => Type.Literal(r)));

export const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  project: Type.String(),
  role: Type.String(),
  /** An invoke token's one deployment; null: every deployment of the project (or not an invoke token). */
  deployment: Nullable(Type.String()),
  owner: Type.String(),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  lastUsedAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
});

const ProjectParams = Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) });
const TokenParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
});

function toTokenView(row: TokenRow, now: number) {
  return {
    id: row.id,
    name: row.name,
    project: row.project,
    role: row.role,
    deployment: row.deployment,
    owner: row.owner,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
    status: credentialStatus(row.revoked_at, row.expires_at, now),
  };
}

/**
 * API tokens: scoped to one project and a role, expiring, revocable, shown once. Only a user
 * session mints them (a token minting tokens could outlive its own expiry); a token's power is
 * re-checked on every request against its owner's current role (access.ts).
 */
export async function tokenRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;

  app.post(
    '/api/v1/projects/:project/tokens',
    {
      config: { permission: 'project-session:viewer' },
      schema: {
        tags: ['tokens'],
        summary: `Create an API token for this project (shown once; expires after ${DEFAULT_TOKEN_DAYS} days by default, at most ${MAX_TOKEN_DAYS})`,
        params: ProjectParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
            role: RoleSchema,
            expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOKEN_DAYS })),
            /** With role 'invoke': the one deployment the token may call. */
            deployment: Type.Optional(Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            name: Type.String(),
            project: Type.String(),
            role: Type.String(),
            expiresAt: Type.String(),
            token: Type.String(),
          }),
        },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      // An invoke token calls deployments only: any member may mint one (a viewer may invoke).
      const role: TokenRole = req.body.role === INVOKE_ROLE ? INVOKE_ROLE : parseRole(req.body.role);
      if (req.body.deployment !== undefined && role !== INVOKE_ROLE)
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          "only an invoke token (role 'invoke') is bound to a deployment",
          {
            field: 'deployment',
          },
        );
      if (role !== INVOKE_ROLE && !roleAtLeast(project.role, role)) {
        throw new FalajError(
          'FALAJ_ROLE_EXCEEDS_GRANTOR',
          `a token cannot carry role '${role}': your role on '${project.name}' is '${project.role}'`,
          { requested: role, yours: project.role },
        );
      }
      const token = newSecretToken(API_TOKEN_PREFIX);
      const now = clock.now();
      const expiresAt = now + (req.body.expiresInDays ?? DEFAULT_TOKEN_DAYS) * DAY_MS;
      const created = await audited(
        svc,
        req,
        async (tx) => {
          const id = await createToken(tx, {
            name: req.body.name,
            tokenHash: sha256Hex(token),
            userId: req.identity!.userId,
            projectId: project.id,
            role,
            now,
            expiresAt,
            deployment: req.body.deployment,
          });
          return {
            result: { id, name: req.body.name, project: project.name, role, expiresAt: iso(expiresAt)! },
            audit: {
              action: 'token.create',
              objectType: 'api_token',
              objectId: id,
              projectId: project.id,
              details: {
                name: req.body.name,
                role,
                expiresAt: iso(expiresAt),
                deployment: req.body.deployment ?? null,
              },
            },
          };
        },
        201,
      );
      return reply.status(201).send({ ...created, token });
    },
  );

  app.get(
    '/api/v1/projects/:project/tokens',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['tokens'],
        summary: "The project's API tokens: all of them for its admins, your own for everyone else",
        params: ProjectParams,
        response: { 200: Type.Object({ tokens: Type.Array(TokenSchema) }) },
      },
    },
    async (req) => {
      const project = req.project!;
      const rows = await listTokens(store.db, {
        projectId: project.id,
        userId: project.role !== 'admin' ? req.identity!.userId : undefined,
      });
      const now = clock.now();
      return { tokens: rows.map((r) => toTokenView(r, now)) };
    },
  );

  app.delete(
    '/api/v1/projects/:project/tokens/:id',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token: your own, or any of the project if you are its admin',
        params: TokenParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      await audited(svc, req, async (tx) => {
        const row = await findToken(tx, project.id, req.params.id);
        // Someone else's token is "not found" to a non-admin: token ids are not to be probed.
        if (!row || (project.role !== 'admin' && row.user_id !== req.identity!.userId))
          throw new FalajError(
            'FALAJ_NOT_FOUND',
            `token '${req.params.id}' does not exist in '${project.name}'`,
          );
        if (row.revoked_at === null) await revokeToken(tx, row.id, clock.now());
        return {
          result: null,
          audit: {
            action: 'token.revoke',
            objectType: 'api_token',
            objectId: row.id,
            projectId: project.id,
            details: { name: row.name, owner: row.owner, alreadyRevoked: row.revoked_at !== null },
          },
        };
      });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      config: { permission: 'session' },
      schema: {
        tags: ['tokens'],
        summary: 'Your API tokens across all projects',
        response: { 200: Type.Object({ tokens: Type.Array(TokenSchema) }) },
      },
    },
    async (req) => {
      const rows = await listTokens(store.db, { userId: req.identity!.userId });
      const now = clock.now();
      return { tokens: rows.map((r) => toTokenView(r, now)) };
    },
  );
}
