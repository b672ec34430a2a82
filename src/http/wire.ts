// Small pieces of the wire format that routes of every domain share.
import { Type } from '@fastify/type-provider-typebox';

/** A string schema that may also be null. */
export const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** Epoch milliseconds as ISO 8601; null stays null. */
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
