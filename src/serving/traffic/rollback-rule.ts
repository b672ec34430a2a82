// When a canary is rolled back automatically: once its window holds enough requests, an error
// rate or a p99 latency above the deployment's thresholds. The decision carries the numbers,
// which the audited rollback records.
import type { AutoRollbackSpec } from '../deployments/deployment-spec.js';
import type { WindowStats } from './window.js';

export interface RollbackDecision {
  reason: string;
  requests: number;
  errorRate: number;
  p99Ms: number;
  maxErrorRate: number;
  maxP99Ms: number;
  windowSeconds: number;
}

export function judgeCanary(rule: AutoRollbackSpec, s: WindowStats): RollbackDecision | undefined {
  if (s.requests < rule.minRequests) return undefined;
  const reasons: string[] = [];
  if (s.errorRate > rule.maxErrorRate)
    reasons.push(`error rate ${(s.errorRate * 100).toFixed(2)}% > ${(rule.maxErrorRate * 100).toFixed(2)}%`);
  if (s.p99Ms > rule.maxP99Ms) reasons.push(`p99 ${s.p99Ms.toFixed(2)} ms > ${rule.maxP99Ms} ms`);
  if (reasons.length === 0) return undefined;
  return {
    reason: `canary ${reasons.join(' and ')} over ${s.requests} requests in ${rule.windowSeconds} s`,
    requests: s.requests,
    errorRate: s.errorRate,
    p99Ms: s.p99Ms,
    maxErrorRate: rule.maxErrorRate,
    maxP99Ms: rule.maxP99Ms,
    windowSeconds: rule.windowSeconds,
  };
}
