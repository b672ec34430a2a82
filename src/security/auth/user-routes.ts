import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { UserSchema } from './auth-routes.js';
import { endUserSessions } from './sessions.js';
import {
  assertAnotherOwner,
  createUser,
  listUsers,
  requireUser,
  setPassword,
  setUserFlags,
  toView,
  USERNAME_PATTERN,
} from './users.js';

const UsernameParams = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });

/** Account administration: the platform owner's. */
export async function userRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;

  app.post(
    '/api/v1/users',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        body: Type.Object(
          {
            username: Type.String({ pattern: USERNAME_PATTERN }),
            password: Type.String({ maxLength: 1024 }),
            owner: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema },
      },
    },
    async (req, reply) => {
      const user = await audited(
        svc,
        req,
        async (tx) => {
          const user = await createUser(tx, clock, req.body);
          return {
            result: user,
            audit: {
              action: 'user.create',
              objectType: 'user',
              objectId: user.username,
              details: { owner: user.owner },
            },
          };
        },
        201,
      );
      return reply.status(201).send(user);
    },
  );

  app.get(
    '/api/v1/users',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['users'],
        summary: 'List users',
        response: { 200: Type.Object({ users: Type.Array(UserSchema) }) },
      },
    },
    async () => ({ users: (await listUsers(store.db)).map(toView) }),
  );

  app.get(
    '/api/v1/users/:username',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['users'],
        summary: 'Show a user',
        params: UsernameParams,
        response: { 200: UserSchema },
      },
    },
    async (req) => toView(await requireUser(store.db, req.params.username)),
  );

  app.patch(
    '/api/v1/users/:username',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['users'],
        summary: 'Disable or enable a user, grant or withdraw ownership, reset the password',
        params: UsernameParams,
        body: Type.Object(
          {
            disabled: Type.Optional(Type.Boolean()),
            owner: Type.Optional(Type.Boolean()),
            password: Type.Optional(Type.String({ maxLength: 1024 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: UserSchema },
      },
    },
    async (req) =>
      audited(svc, req, async (tx) => {
        const user = await requireUser(tx, req.params.username);
        const { disabled, owner, password } = req.body;
        if ((disabled === true || owner === false) && user.is_owner) await assertAnotherOwner(tx, user.id);
        await setUserFlags(tx, clock, user.id, { disabled, owner });
        if (password !== undefined) await setPassword(tx, clock, user.id, password);
        if (disabled) await endUserSessions(tx, user.id, clock.now());
        const after = await requireUser(tx, user.username);
        return {
          result: toView(after),
          audit: {
            action: 'user.update',
            objectType: 'user',
            objectId: user.username,
            details: { disabled, owner, passwordReset: password !== undefined },
          },
        };
      }),
  );
}
