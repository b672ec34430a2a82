import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Transaction } from 'kysely';
import { blobToFile } from '../artifacts/blob-file.js';
import { storeArtifact } from '../artifacts/record-artifact.js';
import { isFalajError } from '../core/errors.js';
import type { Services } from '../http/services.js';
import type { AuditInput } from '../security/audit/audit-log.js';
import type { Database } from '../store/schema.js';
import type { MetricPoint } from '../tracking/metric-store.js';
import { insertMetrics } from '../tracking/metric-store.js';
import type { RunStore } from '../tracking/run-store.js';
import { runTraining, type TrainRequest } from '../training/run-training.js';
import type { TrialRecord } from '../training/tuning/index.js';

/** A training the server accepted: who asked, where to log, the data's blob. */
export interface AcceptedTraining {
  projectId: string;
  projectName: string;
  runId: string;
  experimentId: string;
  user: string;
  audit: Pick<AuditInput, 'actor' | 'sourceIp' | 'requestId'>;
  /** The data file's digest in the artifact store and its extension (.csv or .parquet). */
  digest: string;
  extension: string;
  request: Omit<TrainRequest, 'data' | 'out'>;
}

/**
 * Runs server-side trainings in this process, one at a time per server (training uses every
 * core already). What a training logs is collected and written when it ends, in one
 * transaction with the run's final status, its nested trial runs, its model files and an
 * audit event: a run is never left half-logged. A server that stops mid-training leaves the
 * run RUNNING with tag falaj.training.state=running; jobs (the compute issue) make this
 * durable.
 */
export class ServerTrainer {
  private queue: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly svc: Services,
    private readonly runs: RunStore,
  ) {}

  submit(job: AcceptedTraining): void {
    const done = this.queue.then(() => this.run(job)).catch(() => {});
    this.queue = done;
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Resolves when every accepted training has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async run(job: AcceptedTraining): Promise<void> {
    const { svc } = this;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'falaj-train-'));
    const params: Record<string, string> = {};
    const metrics: MetricPoint[] = [];
    const trials: TrialRecord[] = [];
    let trialMetric = 'valid_loss';
    try {
      const data = path.join(dir, `data${job.extension}`);
      await blobToFile(svc, job.digest, data);
      const out = path.join(dir, 'model');
      const result = await runTraining(
        { ...job.request, data, out },
        {
          logParams: (p) => {
            for (const [k, v] of Object.entries(p)) params[k] = String(v);
          },
          logMetric: (key, value, s) => {
            metrics.push({ key, value, step: s ?? 0, timestamp: svc.clock.now() });
          },
          trialComplete: (t, study) => {
            trials.push(t);
            trialMetric = study.metric;
          },
        },
      );
      await svc.store.db.transaction().execute(async (tx) => {
        await this.runs.logParams(
          tx,
          job.runId,
          Object.entries(params).map(([key, value]) => ({ key, value })),
        );
        await insertMetrics(tx, svc.store.dialect, job.runId, metrics);
        for (const t of trials) await this.logTrial(tx, job, t, trialMetric);
        for (const name of (await readdir(out)).sort())
          await storeArtifact(
            svc,
            {
              projectId: job.projectId,
              path: `runs/${job.runId}/artifacts/model/${name}`,
              source: createReadStream(path.join(out, name)),
              createdBy: job.user,
            },
            tx,
          );
        await this.finish(tx, job, 'finished', [], { metrics: result.metrics, trials: trials.length });
      });
    } catch (err) {
      const code = isFalajError(err) ? err.code : 'FALAJ_INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      await svc.store.db
        .transaction()
        .execute((tx) =>
          this.finish(
            tx,
            job,
            'failed',
            [{ key: 'falaj.training.error', value: `${code}: ${message}`.slice(0, 8000) }],
            { code },
          ),
        )
        .catch(() => {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Ends the run (its state tag, status and end time) and records the outcome in the audit chain. */
  private async finish(
    tx: Transaction<Database>,
    job: AcceptedTraining,
    state: 'finished' | 'failed',
    tags: { key: string; value: string }[],
    details: Record<string, unknown>,
  ): Promise<void> {
    const ok = state === 'finished';
    await this.runs.setTags(tx, job.runId, [{ key: 'falaj.training.state', value: state }, ...tags]);
    await this.runs.update(tx, job.projectId, job.runId, {
      status: ok ? 'FINISHED' : 'FAILED',
      endTime: this.svc.clock.now(),
    });
    await this.svc.audit.append(tx, {
      ...job.audit,
      action: 'training.finish',
      objectType: 'run',
      objectId: job.runId,
      projectId: job.projectId,
      outcome: ok ? 'success' : 'failure',
      status: ok ? 200 : 400,
      details,
    });
  }

  /** A tuning trial as a finished nested run: its params, its curve, its state. */
  private async logTrial(
    tx: Transaction<Database>,
    job: AcceptedTraining,
    t: TrialRecord,
    metric: string,
  ): Promise<void> {
    const now = this.svc.clock.now();
    const id = await this.runs.create(tx, {
      projectId: job.projectId,
      projectName: job.projectName,
      experimentId: job.experimentId,
      userId: job.user,
      runName: `trial-${t.number}`,
      startTime: now,
      tags: [
        { key: 'mlflow.parentRunId', value: job.runId },
        { key: 'falaj.trial.number', value: String(t.number) },
        { key: 'falaj.trial.state', value: t.state },
      ],
    });
    await this.runs.logParams(
      tx,
      id,
      Object.entries(t.params).map(([key, value]) => ({ key, value: String(value) })),
    );
    await insertMetrics(
      tx,
      this.svc.store.dialect,
      id,
      t.intermediateValues.map((iv) => ({ key: metric, value: iv.value, step: iv.step, timestamp: now })),
    );
    const status = t.state === 'failed' ? 'FAILED' : t.state === 'pruned' ? 'KILLED' : 'FINISHED';
    await this.runs.update(tx, job.projectId, id, { status, endTime: now });
  }
}
