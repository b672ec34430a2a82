import type { Services } from '../http/services.js';

/**
 * Removes blobs that no artifact row references any more. Content addressing shares a blob
 * between paths and projects, so a blob is removed only after checking the rows, and never
 * while an upload is in flight: an upload deduplicated against a blob must not see it vanish
 * before its row is written. A removal that has to wait runs when the last upload finishes.
 * (Within one process; several servers sharing one local artifact folder are not covered.)
 */
export class BlobReaper {
  private inFlight = 0;
  private sweeping: Promise<void> | null = null;
  private readonly candidates = new Set<string>();
  private readonly holders: ((digest: string) => Promise<boolean>)[] = [];

  constructor(private readonly svc: Services) {}

  /** Called before an upload starts; the returned function is called once its row is written (or it failed). */
  async enter(): Promise<() => void> {
    while (this.sweeping) await this.sweeping;
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      void this.maybeSweep();
    };
  }

  /**
   * Another domain that points at blobs by digest (dataset versions) tells the reaper so: a
   * blob it still uses is never removed, even when no `artifacts` row names it any more.
   */
  addHolder(uses: (digest: string) => Promise<boolean>): void {
    this.holders.push(uses);
  }

  consider(digest: string): Promise<void> {
    this.candidates.add(digest);
    return this.maybeSweep();
  }

  private maybeSweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    if (this.inFlight > 0 || this.candidates.size === 0) return Promise.resolve();
    this.sweeping = this.sweep().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweep(): Promise<void> {
    for (const digest of this.candidates) {
      this.candidates.delete(digest);
      try {
        const ref = await this.svc.store.db
          .selectFrom('artifacts')
          .select('digest')
          .where('digest', '=', digest)
          .executeTakeFirst();
        if (ref) continue;
        let held = false;
        for (const uses of this.holders) if (!held) held = await uses(digest);
        if (!held) await this.svc.artifacts.delete(digest);
      } catch {
        // Left in place: an unreferenced blob wastes space but loses nothing.
      }
    }
  }
}
