#!/usr/bin/env bash
# End to end through Falaj on a machine with Node.js, an NVIDIA GPU and PyTorch: starts a Falaj
# server from this repository's build, creates a project and an API token, submits job.yaml
# (one GPU, bf16, torchrun), follows the logs of each attempt, then prints the job's final state
# and transitions, the run's params and metrics, and the checkpoints kept in the run.
#
# By default the first attempt fails on purpose after epoch 3 (--fail-once-at-epoch 3): the
# job's retry policy runs it again, and the second attempt resumes from epoch 3's checkpoint.
#
#   examples/pytorch-gpu/run.sh                  # GPU; needs `npm run build` done (or does it)
#   examples/pytorch-gpu/run.sh --no-failure     # one clean attempt
#   examples/pytorch-gpu/run.sh --cpu            # no GPU: 1 CPU, gpu 0 (bf16 autocast on CPU)
#   examples/pytorch-gpu/run.sh --python /usr/bin/python3 --no-torchrun --cpu
#       (another interpreter; `python train.py` instead of torchrun)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CPU=0
FAIL_AT=3
PYTHON=""
TORCHRUN=1
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) CPU=1 ;;
    --no-failure) FAIL_AT=0 ;;
    --python) PYTHON="$2"; shift ;;
    --no-torchrun) TORCHRUN=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

command -v node >/dev/null || { echo "run.sh: node is needed (Node.js ≥ 20)" >&2; exit 1; }
if [ "$CPU" = 0 ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "run.sh: no NVIDIA GPU found (nvidia-smi); use --cpu to run without one" >&2
  exit 1
fi
cd "$ROOT"
[ -f dist/cli/main.js ] || npm run build
falaj() { node "$ROOT/bin/falaj.js" "$@"; }

DATA="$(mktemp -d "${TMPDIR:-/tmp}/falaj-pytorch-gpu.XXXXXX")"
export FALAJ_CONFIG="$DATA/cli-login.json"   # the login below must not touch ~/.config
PASSWORD="pytorch-gpu-example-$RANDOM$RANDOM"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "(server data kept in $DATA)"; else rm -rf "$DATA"; fi
}
trap cleanup EXIT

# -- server --------------------------------------------------------------------------------
FALAJ_ADMIN_PASSWORD="$PASSWORD" falaj server --data-dir "$DATA/server" --port 0 >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
URL=""
for _ in $(seq 1 120); do
  URL="$(node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
    for (const l of lines) { try { const j = JSON.parse(l); if (j.msg === "falaj server listening" || /listening/.test(j.msg)) { if (j.url) { console.log(j.url); break; } } } catch {} }
  ' "$DATA/server.log" 2>/dev/null || true)"
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$URL" ] || { echo "run.sh: the server did not start" >&2; cat "$DATA/server.log" >&2; exit 1; }
echo "== Falaj server at $URL (data in $DATA)"

# -- project and token ---------------------------------------------------------------------
printf '%s\n' "$PASSWORD" | falaj login --url "$URL" -u admin >"$DATA/login.log" 2>&1 ||
  { cat "$DATA/login.log" >&2; exit 1; }
falaj projects create vision --url "$URL" >/dev/null
TOKEN="$(falaj tokens create vision --name pytorch-gpu --role editor --url "$URL" --json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')"
export FALAJ_URL="$URL" FALAJ_TOKEN="$TOKEN" FALAJ_PROJECT=vision
echo "== project 'vision', API token created"

# -- the job spec: job.yaml with this folder as workdir (and the options above) -------------
SPEC="$DATA/job.json"
CPU="$CPU" FAIL_AT="$FAIL_AT" PYTHON="$PYTHON" TORCHRUN="$TORCHRUN" HERE="$HERE" DATA="$DATA" node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  import { parseJobSpecText } from "./dist/jobs/job-spec.js";
  const e = process.env;
  const spec = parseJobSpecText(readFileSync(`${e.HERE}/job.yaml`, "utf8"), "job.yaml");
  spec.workdir = e.HERE;
  // Local checkpoint copies go with the server data (removed at the end), not into this folder.
  spec.env = { ...spec.env, FALAJ_CHECKPOINT_DIR: `${e.DATA}/checkpoints` };
  let cmd = [...spec.command];
  const script = cmd.indexOf("train.py");
  if (e.TORCHRUN === "0") cmd = [e.PYTHON || "python3", ...cmd.slice(script)];
  else if (e.PYTHON) cmd = [e.PYTHON, "-m", "torch.distributed.run", ...cmd.slice(1)];
  if (e.FAIL_AT !== "0") cmd.push("--fail-once-at-epoch", e.FAIL_AT);
  spec.command = cmd;
  if (e.CPU === "1") spec.resources = { cpu: 1, memory: 2 * 1024 ** 3, gpu: 0 };
  writeFileSync(process.argv[1], JSON.stringify(spec, null, 2));
' "$SPEC"
echo "== submitting: $(node -e 'const s=require(process.argv[1]);console.log(s.command.join(" "), JSON.stringify(s.resources))' "$SPEC")"
JOB="$(falaj jobs submit "$SPEC" --experiment pytorch-gpu)"
echo "== job $JOB"

# -- follow each attempt's logs until the job ends -----------------------------------------
job_field() { falaj jobs show "$JOB" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j[process.argv[1]] ?? "")})' "$1"; }
SHOWN=0
while :; do
  STATE="$(job_field state)"
  ATTEMPT="$(job_field attempt)"
  if [ "$ATTEMPT" -gt "$SHOWN" ] && { [ "$STATE" = running ] || [ "$STATE" = succeeded ] || [ "$STATE" = failed ]; }; then
    echo "== attempt $ATTEMPT ($STATE): logs"
    falaj jobs logs -f "$JOB" || true
    SHOWN="$ATTEMPT"
    continue
  fi
  case "$STATE" in succeeded|failed|cancelled) break ;; esac
  sleep 1
done

# -- the outcome ---------------------------------------------------------------------------
RUN="$(job_field runId)"
echo "== job $JOB: $STATE after $(job_field attempt) attempt(s)"
falaj jobs show "$JOB"
echo "== run $RUN"
falaj runs show "$RUN"
for metric in train_loss val_loss val_accuracy samples_per_second; do
  echo "== $metric by epoch"
  falaj runs history "$RUN" "$metric"
done
echo "== checkpoints kept in the run"
falaj artifacts list vision --prefix "runs/$RUN/artifacts/checkpoints/"
[ "$STATE" = succeeded ]
