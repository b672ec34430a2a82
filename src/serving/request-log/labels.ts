// Ground truth that arrives after the prediction, by request id (and row of a batch request):
// recorded one transaction at a time, upserted by (deployment, request_id, row).
import { FalajError } from '../../core/errors.js';
import type { Services } from '../../http/services.js';

export interface LabelInput {
  requestId: string;
  /** The row of the request (default 0, the one row of a one-row request). */
  row?: number;
  label: string | number;
}

export const MAX_REQUEST_ID = 200;
/** Most labels in one call (one transaction). */
export const MAX_LABELS = 100_000;
/** Longest text label. */
export const MAX_LABEL_TEXT = 1000;
const CHUNK = 500;

/** Why one label is not acceptable, or null. */
export function labelProblem(l: Partial<LabelInput> | null | undefined): string | null {
  if (!l || typeof l !== 'object') return 'is not an object';
  if (typeof l.requestId !== 'string' || l.requestId.length === 0)
    return 'request_id must be a non-empty string';
  if (l.requestId.length > MAX_REQUEST_ID) return `request_id is longer than ${MAX_REQUEST_ID} characters`;
  if (l.row !== undefined && !(Number.isSafeInteger(l.row) && l.row >= 0))
    return 'row must be an integer >= 0';
  if (typeof l.label === 'number') {
    if (!Number.isFinite(l.label)) return 'label must be a finite number or a string';
  } else if (typeof l.label === 'string') {
    if (l.label.length > MAX_LABEL_TEXT) return `label is longer than ${MAX_LABEL_TEXT} characters`;
  } else return 'label must be a string or a finite number';
  return null;
}

/**
 * Records labels of a deployment's requests (upsert by (deployment, request_id, row); the last of
 * duplicates in one call wins). Every label is checked first: a bad one refuses the whole call
 * (FALAJ_INVALID_ARGUMENT naming its index) and nothing is written.
 */
export async function recordLabels(
  svc: Services,
  deploymentId: string,
  labels: readonly LabelInput[],
  actor: string,
): Promise<{ recorded: number }> {
  if (!Array.isArray(labels))
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'labels must be an array', { field: 'labels' });
  if (labels.length > MAX_LABELS)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', `at most ${MAX_LABELS} labels per call`, {
      count: labels.length,
    });
  const rows = new Map<string, { request_id: string; row: number; label: string }>();
  labels.forEach((l, index) => {
    const problem = labelProblem(l);
    if (problem) throw new FalajError('FALAJ_INVALID_ARGUMENT', `labels[${index}]: ${problem}`, { index });
    const row = l.row ?? 0;
    rows.set(`${row}\u0000${l.requestId}`, { request_id: l.requestId, row, label: JSON.stringify(l.label) });
  });
  const dep = await svc.store.db
    .selectFrom('deployments')
    .select('id')
    .where('id', '=', deploymentId)
    .executeTakeFirst();
  if (!dep)
    throw new FalajError('FALAJ_DEPLOYMENT_NOT_FOUND', `deployment ${deploymentId} does not exist`, {
      deploymentId,
    });
  const now = svc.clock.now();
  const values = [...rows.values()].map((r) => ({
    deployment_id: deploymentId,
    ...r,
    received_at: now,
    received_by: actor,
  }));
  await svc.store.db.transaction().execute(async (tx) => {
    for (let i = 0; i < values.length; i += CHUNK) {
      await tx
        .insertInto('serving_labels')
        .values(values.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.columns(['deployment_id', 'request_id', 'row']).doUpdateSet((eb) => ({
            label: eb.ref('excluded.label'),
            received_at: eb.ref('excluded.received_at'),
            received_by: eb.ref('excluded.received_by'),
          })),
        )
        .execute();
    }
  });
  return { recorded: values.length };
}
