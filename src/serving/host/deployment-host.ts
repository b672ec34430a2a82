// The deployments one process serves, loaded and ready. A reconcile pass (every few seconds,
// and at once after a change made through this process) compares each deployment's plan with
// what is loaded: new versions are fetched, checksummed, loaded and health-checked beside the
// old ones, then swapped in at once (blue/green: a request meets the old or the new, never
// neither). A version that fails to load leaves the previous one serving and marks the
// deployment degraded with the reason. Loaded models are shared by version across deployments.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ServedVersion } from '../deployments/deployment-service.js';
import type { DeploymentSpec } from '../deployments/deployment-spec.js';
import { healthCheck, loadServingModel, type ServingModel } from '../runtime/index.js';
import { judgeCanary, type RollbackDecision } from '../traffic/rollback-rule.js';
import { RequestWindow } from '../traffic/window.js';
import type { DeploymentCatalog, DeploymentPlan, HostReport } from './catalog.js';

export type Variant = 'primary' | 'canary' | 'shadow';

/** One variant of a live deployment: a loaded version and its recent requests. */
export interface LiveVariant {
  readonly variant: Variant;
  readonly ref: string;
  readonly model: string;
  readonly version: number;
  readonly versionId: string;
  readonly serving: ServingModel;
  readonly window: RequestWindow;
}

/** A deployment as requests meet it; replaced whole on every change, never edited. */
export interface LiveDeployment {
  readonly id: string;
  readonly projectId: string;
  readonly project: string;
  readonly name: string;
  readonly revision: number;
  readonly public: boolean;
  readonly spec: DeploymentSpec;
  readonly primary: LiveVariant;
  readonly canary?: LiveVariant;
  readonly shadow?: LiveVariant;
  readonly piiColumns: readonly string[];
}

interface LoadedModel {
  serving: ServingModel;
  dir: string;
  users: number;
}

export interface HostOptions {
  /** Where model files are fetched to (one folder per version). */
  cacheDir: string;
  /** Milliseconds between reconcile passes (default 2000). */
  reconcileMs?: number;
  now?: () => number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, facts?: Record<string, unknown>) => void;
  /** Called after a canary was rolled back automatically. */
  onRollback?: (d: LiveDeployment, decision: RollbackDecision, revision: number) => void;
}

const key = (project: string, name: string) => `${project}/${name}`;

export class DeploymentHost {
  private live = new Map<string, LiveDeployment>();
  private liveById = new Map<string, LiveDeployment>();
  private readonly models = new Map<string, Promise<LoadedModel>>();
  /** The last plan seen per deployment id, to skip unchanged ones. */
  private readonly seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly catalog: DeploymentCatalog,
    private readonly opts: HostOptions,
  ) {}

  /** The live deployment for a request (a map lookup: the request path). */
  get(project: string, name: string): LiveDeployment | undefined {
    return this.live.get(key(project, name));
  }

  all(): LiveDeployment[] {
    return [...this.live.values()];
  }

  /** The live deployment of an id (the request log's sampling asks per request). */
  byId(id: string): LiveDeployment | undefined {
    return this.liveById.get(id);
  }

  start(): void {
    const every = this.opts.reconcileMs ?? 2000;
    const tick = () => {
      if (this.stopped) return;
      void this.reconcile().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, every).unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    const loaded = [...this.models.values()];
    this.models.clear();
    this.live.clear();
    this.liveById.clear();
    for (const p of loaded) {
      const m = await p.catch(() => undefined);
      if (m) await this.release(m);
    }
  }

  /** One pass; concurrent callers share it, and a call during a pass runs one more after it. */
  reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private say(level: 'info' | 'warn' | 'error', msg: string, facts?: Record<string, unknown>): void {
    this.opts.log?.(level, msg, facts);
  }

  private async pass(): Promise<void> {
    let plans: DeploymentPlan[];
    try {
      plans = await this.catalog.plans();
    } catch (err) {
      this.say('warn', 'serving: cannot read the deployments', { err: (err as Error).message });
      return;
    }
    const next = new Map<string, LiveDeployment>();
    const ids = new Set(plans.map((p) => p.id));
    for (const plan of plans) {
      if (this.stopped) return;
      const k = key(plan.project, plan.name);
      const current = [...this.live.values()].find((d) => d.id === plan.id);
      const fingerprint = JSON.stringify([
        plan.revision,
        plan.public,
        plan.versions,
        plan.error,
        plan.piiColumns,
      ]);
      if (current && this.seen.get(plan.id) === fingerprint) {
        next.set(k, current);
        continue;
      }
      const made = await this.build(plan, current);
      this.seen.set(plan.id, fingerprint);
      if (made) next.set(k, made);
      else if (current) next.set(k, current);
    }
    const before = this.live;
    this.live = next;
    this.liveById = new Map([...next.values()].map((d) => [d.id, d]));
    // Release what no deployment uses any more (deleted deployments, replaced versions).
    for (const d of before.values())
      if (!ids.has(d.id) || next.get(key(d.project, d.name)) !== d) this.drop(d);
    for (const id of [...this.seen.keys()]) if (!ids.has(id)) this.seen.delete(id);
  }

  /** Loads a plan's versions; the new live deployment, or undefined (the old keeps serving). */
  private async build(
    plan: DeploymentPlan,
    current: LiveDeployment | undefined,
  ): Promise<LiveDeployment | undefined> {
    const fail = async (reason: string): Promise<undefined> => {
      this.say(
        'warn',
        `serving: deployment ${plan.project}/${plan.name} revision ${plan.revision}: ${reason}`,
      );
      await this.report(plan, {
        state: current ? 'degraded' : 'failed',
        reason: current ? `${reason}; still serving revision ${current.revision}` : reason,
        serving: current ? servingOf(current) : {},
      });
      return undefined;
    };
    if (plan.error) return fail(plan.error);
    const variants = new Map<Variant, LiveVariant>();
    const taken: string[] = [];
    try {
      for (const v of plan.versions) {
        const loaded = await this.acquire(plan, v);
        taken.push(v.versionId);
        const old = current?.[v.variant];
        // Each revision's canary is judged on its own traffic: a new rule or share starts a new
        // window; a pass that only re-reads the same revision keeps it.
        const window =
          old && old.versionId === v.versionId && current?.revision === plan.revision
            ? old.window
            : new RequestWindow((plan.spec.autoRollback?.windowSeconds ?? 60) * 1000);
        variants.set(v.variant, { ...v, serving: loaded.serving, window });
      }
    } catch (err) {
      for (const id of taken) this.unuse(id);
      return fail(`cannot load the model: ${(err as Error).message}`);
    }
    const primary = variants.get('primary');
    if (!primary) return fail('no model to serve');
    const canary = variants.get('canary');
    const shadow = variants.get('shadow');
    const live: LiveDeployment = {
      id: plan.id,
      projectId: plan.projectId,
      project: plan.project,
      name: plan.name,
      revision: plan.revision,
      public: plan.public,
      spec: plan.spec,
      primary,
      ...(canary ? { canary } : {}),
      ...(shadow ? { shadow } : {}),
      piiColumns: plan.piiColumns,
    };
    await this.report(plan, { state: 'ready', reason: '', serving: servingOf(live) });
    this.say(
      'info',
      `serving: ${plan.project}/${plan.name} revision ${plan.revision} is ready`,
      servingOf(live),
    );
    return live;
  }

  private async report(plan: DeploymentPlan, r: HostReport): Promise<void> {
    try {
      await this.catalog.report(plan, r);
    } catch (err) {
      this.say('warn', 'serving: cannot report a deployment state', { err: (err as Error).message });
    }
  }

  /** The loaded model of a version, loading it once however many deployments use it. */
  private async acquire(plan: DeploymentPlan, v: ServedVersion): Promise<LoadedModel> {
    let p = this.models.get(v.versionId);
    if (!p) {
      p = this.load(plan.projectId, v);
      this.models.set(v.versionId, p);
      p.catch(() => this.models.delete(v.versionId));
    }
    const m = await p;
    m.users++;
    return m;
  }

  private async load(projectId: string, v: ServedVersion): Promise<LoadedModel> {
    await mkdir(this.opts.cacheDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.opts.cacheDir, `${v.versionId.slice(0, 12)}-`));
    try {
      const { files, format } = await this.catalog.fetchModel(projectId, v, dir);
      const serving = await loadServingModel(dir, files, format);
      try {
        await healthCheck(serving);
      } catch (err) {
        await serving.release();
        throw err;
      }
      return { serving, dir, users: 0 };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private drop(d: LiveDeployment): void {
    for (const v of [d.primary, d.canary, d.shadow]) if (v) this.unuse(v.versionId);
  }

  private unuse(versionId: string): void {
    const p = this.models.get(versionId);
    if (!p) return;
    void p.then(async (m) => {
      m.users--;
      if (m.users <= 0 && this.models.get(versionId) === p) {
        this.models.delete(versionId);
        await this.release(m);
      }
    });
  }

  private async release(m: LoadedModel): Promise<void> {
    await m.serving.release().catch(() => {});
    await rm(m.dir, { recursive: true, force: true });
  }

  /** Judges every canary under an auto-rollback rule; rolls back those that fail it (and says which). */
  async judgeCanaries(): Promise<{ deployment: string; revision: number; decision: RollbackDecision }[]> {
    const done: { deployment: string; revision: number; decision: RollbackDecision }[] = [];
    const now = (this.opts.now ?? Date.now)();
    for (const d of this.live.values()) {
      const rule = d.spec.autoRollback;
      if (!rule || !d.canary) continue;
      const decision = judgeCanary(rule, d.canary.window.stats(now));
      if (!decision) continue;
      const plan = {
        id: d.id,
        projectId: d.projectId,
        project: d.project,
        name: d.name,
        revision: d.revision,
      };
      try {
        const revision = await this.catalog.rollbackCanary(plan as DeploymentPlan, decision);
        if (revision !== undefined) {
          done.push({ deployment: d.name, revision, decision });
          this.say(
            'warn',
            `serving: ${d.project}/${d.name}: ${decision.reason}: rolled back to revision ${revision}`,
          );
          this.opts.onRollback?.(d, decision, revision);
        }
      } catch (err) {
        this.say('error', 'serving: automatic rollback failed', { err: (err as Error).message });
      }
      await this.reconcile();
    }
    return done;
  }
}

export function servingOf(d: LiveDeployment): Record<string, { model: string; version: number }> {
  const out: Record<string, { model: string; version: number }> = {};
  for (const v of [d.primary, d.canary, d.shadow])
    if (v) out[v.variant] = { model: v.model, version: v.version };
  return out;
}
