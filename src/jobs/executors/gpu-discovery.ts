// GPUs of this machine from `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader`.
// No nvidia-smi (or one that fails: no driver loaded) means no GPUs, not an error.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface GpuInfo {
  readonly index: number;
  /** The model as nvidia-smi names it, e.g. "NVIDIA H100 80GB HBM3". */
  readonly name: string;
  /** The short type the scheduler and job specs use, e.g. "h100". */
  readonly type: string;
  readonly memoryMiB: number | undefined;
}

/** Parses lines like `0, NVIDIA H100 80GB HBM3, 81559 MiB`; lines that do not parse are skipped. */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 3) continue;
    const index = Number(fields[0]);
    const memory = fields[fields.length - 1] ?? '';
    // A model name holding a comma would be split; put its middle back together.
    const name = fields.slice(1, -1).join(', ');
    if (!Number.isInteger(index) || index < 0 || name === '') continue;
    const mem = /^(\d+)\s*MiB$/i.exec(memory);
    gpus.push({ index, name, type: gpuTypeOf(name), memoryMiB: mem?.[1] ? Number(mem[1]) : undefined });
  }
  return gpus;
}

const VENDOR = /^(nvidia|tesla|geforce|quadro)$/;
const NOISE = /^(\d+gb|sxm\d*|pcie|hbm\d*e?|nvl|mig.*)$/;

/** "NVIDIA H100 80GB HBM3" → "h100", "NVIDIA A100-SXM4-40GB" → "a100", "NVIDIA GeForce RTX 4090" → "rtx-4090". */
export function gpuTypeOf(name: string): string {
  const words = name
    .toLowerCase()
    .split(/[\s-]+/)
    .filter((w) => w !== '' && !VENDOR.test(w) && !NOISE.test(w));
  return words.length > 0 ? words.join('-') : 'gpu';
}

// A machine without nvidia-smi is asked again only after a minute: the scheduler discovers
// every pass (twice a second), and spawning a process that cannot exist each time stalls the
// event loop the API and inference share.
const ABSENT_RECHECK_MS = 60_000;
const absentUntil = new Map<string, number>();

export async function discoverNvidiaGpus(nvidiaSmi = 'nvidia-smi'): Promise<GpuInfo[]> {
  if ((absentUntil.get(nvidiaSmi) ?? 0) > Date.now()) return [];
  try {
    const { stdout } = await execFileAsync(
      nvidiaSmi,
      ['--query-gpu=index,name,memory.total', '--format=csv,noheader'],
      { timeout: 15_000 },
    );
    return parseNvidiaSmi(stdout);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      absentUntil.set(nvidiaSmi, Date.now() + ABSENT_RECHECK_MS);
    return [];
  }
}
