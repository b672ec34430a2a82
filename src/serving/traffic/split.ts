// Which variant answers a request. Without a key each request draws at random, so a canary of
// p% answers about p% of requests; with a key (the X-Falaj-Routing-Key header) the choice is a
// hash of the key, so one caller keeps meeting the same version for as long as the split holds.

/** FNV-1a 32-bit: fast, stable across processes and servers (no seed). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A point in [0, 100) for a request: from its key when given, else drawn. */
export function splitPoint(key: string | undefined, random: () => number = Math.random): number {
  if (key === undefined || key === '') return random() * 100;
  return (fnv1a(key) / 0x1_0000_0000) * 100;
}

/** Whether the canary answers (percent in (0, 100)); no canary, never. */
export function routesToCanary(
  canaryPercent: number | undefined,
  key: string | undefined,
  random: () => number = Math.random,
): boolean {
  if (canaryPercent === undefined || canaryPercent <= 0) return false;
  return splitPoint(key, random) < canaryPercent;
}
