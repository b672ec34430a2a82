// The agent protocol over HTTP(S), as `falaj agent` speaks it.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FalajClient } from '../../../client/index.js';
import type {
  AgentLease,
  AgentRegistration,
  AgentTransport,
  HeartbeatRequest,
  HeartbeatResponse,
} from '../protocol.js';

export function httpAgentTransport(url: string, token: string): AgentTransport {
  // Nothing from the environment or a login file: the agent talks with exactly what it was given.
  const client = new FalajClient({ url, token, project: undefined });
  const attemptUrl = (id: string, externalId: string) =>
    `/api/v1/agents/${encodeURIComponent(id)}/attempts/${encodeURIComponent(externalId)}`;
  return {
    async downloadCode(id, externalId, file) {
      const res = await client.request<Response>('GET', `${attemptUrl(id, externalId)}/code`, {
        as: 'response',
      });
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
    },
    register: (body: AgentRegistration) => client.post<AgentLease>('/api/v1/agents', body),
    heartbeat: (id: string, body: HeartbeatRequest) =>
      client.post<HeartbeatResponse>(`/api/v1/agents/${encodeURIComponent(id)}/heartbeat`, body),
    appendLog: (id, externalId, offset, bytes) =>
      client.request<{ size: number; done: boolean }>('PUT', `${attemptUrl(id, externalId)}/log-chunks`, {
        query: { offset },
        body: { body: bytes, headers: { 'content-type': 'application/octet-stream' } },
      }),
    async uploadLog(id, externalId, log) {
      await client.request('PUT', `${attemptUrl(id, externalId)}/log`, {
        body: { body: log, headers: { 'content-type': 'text/plain; charset=utf-8' } },
      });
    },
  };
}
