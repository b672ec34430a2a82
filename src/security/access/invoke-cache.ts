// Inference is the one hot path where every request carries a credential: resolving it costs two
// or three queries, more than the prediction. So the `invoke` routes remember, for a short
// while, who a bearer is and what it may call in a project. The price is that revoking a token,
// demoting its owner or removing a member reaches inference up to INVOKE_CACHE_MS late; every
// other route checks the store on every request.
import type { Identity, ProjectAccess } from '../../http/identity.js';

export const INVOKE_CACHE_MS = 2000;
const MAX_ENTRIES = 10_000;

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    // Bounded: when full, the oldest entries go first (Map keeps insertion order).
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
  }
}

/** Who a bearer is, and the project access an identity has for `invoke`, each for a short while. */
export interface InvokeCache {
  identities: TtlCache<Identity>;
  access: TtlCache<ProjectAccess | null>;
}

export function invokeCache(ttlMs = INVOKE_CACHE_MS): InvokeCache {
  return { identities: new TtlCache(ttlMs), access: new TtlCache(ttlMs) };
}
