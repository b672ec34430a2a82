// Artifact upload and download of a large file through the HTTP API (streamed both ways), against
// raw Node crypto AES-256-GCM over the same bytes in 64 KiB chunks in the same run.
// Goals: upload/anchor and download/anchor ≥ 0.5; server RSS growth < 100 MB.
//
//   npx tsx bench/artifacts.ts                      (2048 MB)
//   FALAJ_BENCH_ARTIFACT_MB=256 npx tsx bench/artifacts.ts
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssMb, startBenchServer, table } from './support.js';

const BLOCK = 1024 * 1024;
const ANCHOR_CHUNK = 64 * 1024;
const MB = 1e6;

/**
 * The file's content, made on the fly: a few random 1 MiB blocks in a fixed rotation (each
 * block is a fresh buffer handed to the socket and never mutated afterwards).
 */
function* content(sizeBytes: number, blocks: Buffer[]): Generator<Buffer> {
  let left = sizeBytes;
  for (let i = 0; left > 0; i++) {
    const block = blocks[i % blocks.length]!;
    const n = Math.min(left, block.length);
    yield n === block.length ? block : block.subarray(0, n);
    left -= n;
  }
}

function expectedDigest(sizeBytes: number, blocks: Buffer[]): string {
  const h = createHash('sha256');
  for (const b of content(sizeBytes, blocks)) h.update(b);
  return h.digest('hex');
}

/** PUTs the generated content with backpressure (write, and wait for 'drain' when told to). */
function upload(
  url: string,
  token: string,
  sizeBytes: number,
  blocks: Buffer[],
): Promise<{ digest: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(sizeBytes),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          if (res.statusCode !== 201) reject(new Error(`upload: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as { digest: string });
        });
      },
    );
    req.on('error', reject);
    const it = content(sizeBytes, blocks);
    const pump = () => {
      for (;;) {
        const next = it.next();
        if (next.done) {
          req.end();
          return;
        }
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** GETs the file, hashing it as it streams; returns the digest, the byte count and the header digest. */
function download(url: string, token: string): Promise<{ digest: string; bytes: number; header: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`download: ${res.statusCode}`));
          res.resume();
          return;
        }
        const h = createHash('sha256');
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          h.update(d);
          bytes += d.length;
        });
        res.on('end', () =>
          resolve({ digest: h.digest('hex'), bytes, header: String(res.headers['x-falaj-digest']) }),
        );
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('download aborted by the server')));
      })
      .on('error', reject);
  });
}

/** The anchor: raw AES-256-GCM over the same number of bytes, one cipher and tag per 64 KiB chunk. */
function anchorMbPerSecond(sizeBytes: number): number {
  const key = randomBytes(32);
  const chunk = randomBytes(ANCHOR_CHUNK);
  const nonce = Buffer.alloc(12);
  const start = performance.now();
  for (let done = 0, i = 0; done < sizeBytes; done += ANCHOR_CHUNK, i++) {
    nonce.writeUInt32BE(i, 8);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.update(done + ANCHOR_CHUNK <= sizeBytes ? chunk : chunk.subarray(0, sizeBytes - done));
    c.final();
    c.getAuthTag();
  }
  return sizeBytes / MB / ((performance.now() - start) / 1000);
}

/**
 * A second anchor, for context: the same bytes written to a file on the same disk and fsynced.
 * A durable upload cannot beat it, whatever its encryption costs.
 */
function diskMbPerSecond(sizeBytes: number, blocks: Buffer[]): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falaj-bench-disk-'));
  try {
    const fd = openSync(path.join(dir, 'anchor'), 'w');
    const start = performance.now();
    for (const b of content(sizeBytes, blocks)) writeSync(fd, b);
    fsyncSync(fd);
    closeSync(fd);
    return sizeBytes / MB / ((performance.now() - start) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU seconds a process has used so far, all its threads (utime + stime from /proc, in clock
 * ticks of 10 ms). On a busy machine wall-clock throughput swings with the neighbours' load;
 * bytes per CPU second of the server do not, so they are printed beside it.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Samples the server's RSS every 50 ms while `work` runs; returns the work's result and the peak. */
async function withRssPeak<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  try {
    const result = await work();
    peak = Math.max(peak, rssMb(pid));
    return { result, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}

export async function benchArtifacts(opts: { sizeBytes: number }): Promise<Record<string, number>> {
  const { sizeBytes } = opts;
  const blocks = Array.from({ length: 8 }, () => randomBytes(BLOCK));
  const digest = expectedDigest(sizeBytes, blocks);
  const server = await startBenchServer();
  try {
    const auth = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/api/v1/projects`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'bench', description: 'artifact benchmark' }),
    });
    if (created.status !== 201) throw new Error(`create project: ${created.status} ${await created.text()}`);
    const files = `${server.url}/api/v1/projects/bench/artifacts/files`;

    // Warm up the code paths (JIT, pools) with a small file, then take the baseline.
    await upload(`${files}/warmup.bin`, server.token, 4 * BLOCK, blocks);
    await download(`${files}/warmup.bin`, server.token);
    const baseRss = rssMb(server.pid);

    let cpu = cpuSeconds(server.pid);
    let start = performance.now();
    const up = await withRssPeak(server.pid, () =>
      upload(`${files}/big.bin`, server.token, sizeBytes, blocks),
    );
    const uploadMbps = sizeBytes / MB / ((performance.now() - start) / 1000);
    const uploadCpu = cpuSeconds(server.pid) - cpu;
    if (up.result.digest !== digest) throw new Error(`upload digest ${up.result.digest} != ${digest}`);

    cpu = cpuSeconds(server.pid);
    start = performance.now();
    const down = await withRssPeak(server.pid, () => download(`${files}/big.bin`, server.token));
    const downloadMbps = sizeBytes / MB / ((performance.now() - start) / 1000);
    const downloadCpu = cpuSeconds(server.pid) - cpu;
    if (down.result.bytes !== sizeBytes || down.result.digest !== digest || down.result.header !== digest) {
      throw new Error(`download mismatch: ${down.result.bytes} bytes, digest ${down.result.digest}`);
    }
    const afterRss = rssMb(server.pid);

    const anchorCpu0 = process.cpuUsage();
    const anchorMbps = anchorMbPerSecond(sizeBytes);
    const anchorCpuUs = process.cpuUsage(anchorCpu0);
    const anchorCpu = (anchorCpuUs.user + anchorCpuUs.system) / 1e6;
    const diskMbps = diskMbPerSecond(sizeBytes, blocks);
    const figures = {
      sizeMb: sizeBytes / MB,
      uploadMbps,
      downloadMbps,
      anchorMbps,
      diskMbps,
      uploadRatio: uploadMbps / anchorMbps,
      downloadRatio: downloadMbps / anchorMbps,
      baseRssMb: baseRss,
      peakRssMb: Math.max(up.peakMb, down.peakMb),
      rssGrowthMb: Math.max(up.peakMb, down.peakMb, afterRss) - baseRss,
      uploadMbPerCpuSecond: sizeBytes / MB / uploadCpu,
      downloadMbPerCpuSecond: sizeBytes / MB / downloadCpu,
      anchorMbPerCpuSecond: sizeBytes / MB / anchorCpu,
      loadAverage: os.loadavg()[0]!,
    };
    const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `\nArtifacts: ${(sizeBytes / 2 ** 20).toFixed(0)} MiB through PUT/GET .../artifacts/files (streamed, encrypted, verified)`,
    );
    console.log(
      table([
        ['upload', `${uploadMbps.toFixed(0)} MB/s`],
        ['download', `${downloadMbps.toFixed(0)} MB/s`],
        ['anchor: raw AES-256-GCM, 64 KiB chunks', `${anchorMbps.toFixed(0)} MB/s`],
        ['context: file write + fsync, same disk', `${diskMbps.toFixed(0)} MB/s (bounds any durable upload)`],
        [
          'upload / anchor (goal ≥ 0.5)',
          `${figures.uploadRatio.toFixed(2)} ${goal(figures.uploadRatio >= 0.5)}`,
        ],
        [
          'download / anchor (goal ≥ 0.5)',
          `${figures.downloadRatio.toFixed(2)} ${goal(figures.downloadRatio >= 0.5)}`,
        ],
        [
          'server CPU per byte vs anchor (upload, download)',
          `${(figures.uploadMbPerCpuSecond / figures.anchorMbPerCpuSecond).toFixed(2)}, ${(figures.downloadMbPerCpuSecond / figures.anchorMbPerCpuSecond).toFixed(2)} (${figures.uploadMbPerCpuSecond.toFixed(0)} and ${figures.downloadMbPerCpuSecond.toFixed(0)} MB per server CPU second, all threads)`,
        ],
        ['load average (1 min) at the end', figures.loadAverage.toFixed(2)],
        [
          'server RSS growth (goal < 100 MB)',
          `${figures.rssGrowthMb.toFixed(1)} MB (${baseRss.toFixed(0)} → peak ${figures.peakRssMb.toFixed(0)} MB) ${goal(figures.rssGrowthMb < 100)}`,
        ],
      ]),
    );
    return figures;
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mb = Number(process.env.FALAJ_BENCH_ARTIFACT_MB ?? 2048);
  await benchArtifacts({ sizeBytes: Math.round(mb * 2 ** 20) });
}
