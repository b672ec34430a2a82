// A way past the framework for the one request kind whose cost is dominated by it: a handler
// sees each raw request before Fastify does and answers it whole (returning true) or leaves it
// to Fastify (false) without touching it. Serving's inference fast path is the one user: a
// handler must decide from the request line and headers alone, and must give every request it
// cannot answer exactly as Fastify would (an unknown caller, an error in access) to Fastify.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds a handler that may answer raw requests before Fastify (see http/raw-handlers.ts). */
    addRawHandler(handler: RawHandler): void;
  }
}
