import { createHash, randomBytes } from 'node:crypto';

/** Prefix of API tokens (so secret scanners can find leaked ones); sessions use their own. */
export const API_TOKEN_PREFIX = 'falaj_';
export const SESSION_TOKEN_PREFIX = 'falajs_';
/** `falaj agent`'s credential (minted in src/jobs/agent/server/agent-admin-routes.ts): the agent protocol and nothing else. */
export const AGENT_TOKEN_PREFIX = 'falajagt_';

/** 256 random bits, base64url, behind a recognisable prefix. */
export function newSecretToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Tokens are high-entropy, so a plain SHA-256 (no salt, no stretching) is the right store. */
export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}
