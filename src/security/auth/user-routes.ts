import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../../http/audited.js';
import type { FalajApp, Services } from '../../http/services.js';
import { UserSchema } from './auth-routes.js';
import {
  assertAnotherOwner,
  createUser,
  requireUser,
  setPassword,
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
    async () => {
      const rows = await store.db.selectFrom('users').selectAll().orderBy('username').execute();
      return { users: rows.map(toView) };
    },
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
        const set: { disabled?: number; is_owner?: number; updated_at: number } = { updated_at: clock.now() };
        if (disabled !== undefined) set.disabled = disabled ? 1 : 0;
        if (owner !== undefined) set.is_owner = owner ? 1 : 0;
        await tx.updateTable('users').set(set).where('id', '=', user.id).execute();
        if (password !== undefined) await setPassword(tx, clock, user.id, password);
        if (disabled)
          await tx
            .updateTable('sessions')
            .set({ revoked_at: clock.now() })
            .where('user_id', '=', user.id)
            .where('revoked_at', 'is', null)
            .execute();
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
