import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { BlobReaper } from '../artifacts/blob-reaper.js';
import type { Clock } from '../core/clock.js';
import type { FalajConfig } from '../core/config.js';
import type { AuditLog } from '../security/audit/audit-log.js';
import type { Keyring } from '../security/secrets/keyring.js';
import type { Store } from '../store/store.js';

/** What every domain plugin is given: the backends, chosen once at start. */
export interface Services {
  config: FalajConfig;
  store: Store;
  clock: Clock;
  audit: AuditLog;
  keyring: Keyring;
  artifacts: ArtifactStore;
  /** The one reaper of the artifact store: every writer (routes, training, datasets) shares it. */
  reaper: BlobReaper;
}

/** The Fastify instance every domain registers its routes on (TypeBox schemas give the types). */
export type FalajApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
