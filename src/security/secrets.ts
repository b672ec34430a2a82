import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of API tokens (so secret scanners can find leaked ones); sessions use their own. */
export const API_TOKEN_PREFIX = 'falaj_';
export const SESSION_TOKEN_PREFIX = 'falajs_';
/** `falaj agent`'s credential (src/jobs/agent-tokens.ts): the agent protocol and nothing else. */
export const AGENT_TOKEN_PREFIX = 'falajagt_';

/** 256 random bits, base64url, behind a recognisable prefix. */
export function newSecretToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Tokens are high-entropy, so a plain SHA-256 (no salt, no stretching) is the right store. */
export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
