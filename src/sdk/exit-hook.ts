/** What the exit hook settles: a run with buffered data or still open. */
interface Settleable {
  readonly isEnded: boolean;
  readonly attached: boolean;
  readonly pending: boolean;
  settleAtExit(): Promise<void>;
}

/**
 * One `beforeExit` listener for every live run: when the event loop empties, buffered data is
 * sent and runs this process created are ended. `beforeExit` fires again once that work is
 * done, so a run is settled once and then forgotten. It does not fire on `process.exit()`,
 * on a signal or on an uncaught exception.
 */
class ExitHook {
  private readonly runs = new Set<Settleable>();
  private installed = false;
  private readonly listener = () => {
    const due = [...this.runs].filter((r) => !r.isEnded && (r.pending || !r.attached));
    this.runs.clear();
    if (due.length === 0) return;
    void Promise.all(
      due.map((r) =>
        r.settleAtExit().catch((err: unknown) => {
          process.stderr.write(`falaj: could not flush run at exit: ${String(err)}\n`);
        }),
      ),
    );
  };

  add(run: Settleable): void {
    this.runs.add(run);
    if (!this.installed) {
      process.on('beforeExit', this.listener);
      this.installed = true;
    }
  }

  delete(run: Settleable): void {
    this.runs.delete(run);
  }
}

export const exitHook = new ExitHook();
