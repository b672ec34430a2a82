import type { FastifyRequest } from 'fastify';
import { FalajError } from '../../core/errors.js';

/**
 * An invoke token bound to one deployment calls that deployment only: the serving routes name
 * it in the URL (`:deployment`).
 */
export function checkInvokeScope(req: FastifyRequest): void {
  const bound = req.identity?.token?.deployment;
  if (!bound) return;
  const named = (req.params as Record<string, unknown> | undefined)?.deployment;
  if (named !== bound)
    throw new FalajError(
      'FALAJ_FORBIDDEN',
      `this invoke token is for deployment '${bound}' only, not '${String(named ?? '')}'`,
    );
}
