// Registry events, emitted inside the transaction of the change they announce, so that a
// listener that writes rows (the webhook deliveries of src/registry/staging/) commits or rolls
// back with it. Without listeners, emitting does nothing.
import type { Executor } from '../store/executor.js';

/** The events the registry core emits; the staging step emits its own (promotion.*). */
export type CoreRegistryEvent = 'model_version.created' | 'alias.changed';

export interface RegistryEvent {
  /** `model_version.created`, `alias.changed`, or another module's event name. */
  event: string;
  projectId: string;
  /** The event's JSON body (model name, version, alias...). */
  payload: Record<string, unknown>;
  /** When it happened (epoch ms). */
  at: number;
}

export type RegistryListener = (tx: Executor, event: RegistryEvent) => Promise<void>;

/** One app's registry event bus: the registry module makes it, other registry parts listen. */
export class RegistryEvents {
  private readonly listeners: RegistryListener[] = [];

  on(listener: RegistryListener): void {
    this.listeners.push(listener);
  }

  async emit(tx: Executor, event: RegistryEvent): Promise<void> {
    for (const l of this.listeners) await l(tx, event);
  }
}
