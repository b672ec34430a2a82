// The agent protocol over HTTP(S), as `falaj agent` speaks it.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, FalajClient } from '../../cli/client.js';
import type {
  AgentLease,
  AgentRegistration,
  AgentTransport,
  HeartbeatRequest,
  HeartbeatResponse,
} from './protocol.js';

export function httpAgentTransport(url: string, token: string): AgentTransport {
  // Nothing from the environment or a login file: the agent talks with exactly what it was given.
  const client = new FalajClient({ url, token }, {});
  const agentUrl = (id: string) => `/api/v1/agents/${encodeURIComponent(id)}`;
  const fail = async (res: Response) => {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(
      res.status,
      body.error?.code ?? `HTTP_${res.status}`,
      body.error?.message ?? res.statusText,
    );
  };
  return {
    async downloadCode(id, externalId, file) {
      const res = await fetch(
        `${client.url}${agentUrl(id)}/attempts/${encodeURIComponent(externalId)}/code`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      if (!res.ok || !res.body) return fail(res);
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
    },
    register: (body: AgentRegistration) => client.post<AgentLease>('/api/v1/agents', body),
    heartbeat: (id: string, body: HeartbeatRequest) =>
      client.post<HeartbeatResponse>(`${agentUrl(id)}/heartbeat`, body),
    async appendLog(id, externalId, offset, bytes) {
      const res = await fetch(
        `${client.url}${agentUrl(id)}/attempts/${encodeURIComponent(externalId)}/log-chunks?offset=${offset}`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
          body: bytes as unknown as RequestInit['body'],
        },
      );
      if (!res.ok) return fail(res);
      return (await res.json()) as { size: number; done: boolean };
    },
    async uploadLog(id, externalId, log) {
      const res = await fetch(`${client.url}${agentUrl(id)}/attempts/${encodeURIComponent(externalId)}/log`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain; charset=utf-8' },
        body: log as unknown as RequestInit['body'],
        duplex: 'half',
      } as RequestInit);
      if (!res.ok) await fail(res);
    },
  };
}
