"""A small PyTorch training job for Falaj: an MLP on synthetic data made here, mixed precision
(bf16 autocast, or fp16 with a GradScaler), DDP through torchrun, metrics to the job's tracking
run, and a checkpoint every epoch that a retried or preempted attempt resumes from.

    torchrun --standalone --nproc_per_node=1 train.py --epochs 6
    torchrun --standalone --nproc_per_node=2 train.py --precision none     # CPU: gloo

Hyperparameters come from ``falaj.params()``: the run's params, else ``--params '{...}'`` or
FALAJ_PARAMS, else the command-line defaults below. Without FALAJ_RUN_ID nothing is sent to a
server: metrics are printed, checkpoints stay in --checkpoint-dir.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler

try:
    import falaj
except ImportError:  # run from this repository without installing the client
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
    import falaj


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=256, help="per process")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--samples", type=int, default=32768)
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["bf16", "fp16", "none"], default="bf16")
    p.add_argument("--checkpoint-dir", default=None, help="local checkpoint folder (default FALAJ_CHECKPOINT_DIR or ./checkpoints)")
    p.add_argument("--params", default=None, help="hyperparameters as a JSON object (or @file.json)")
    p.add_argument(
        "--fail-once-at-epoch",
        type=int,
        default=0,
        help="exit with an error after checkpointing this epoch, on attempt 1 only (shows retry + resume)",
    )
    return p.parse_args(argv)


def synthetic_data(n, features, classes, seed):
    """Inputs from N(0, 1), labels from a fixed random 'teacher' network: learnable, not trivial,
    identical on every rank and every attempt (its own generator, seeded)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w1 = torch.randn(features, 128, generator=g) / math.sqrt(features)
    w2 = torch.randn(128, classes, generator=g) / math.sqrt(128)
    y = (torch.tanh(x @ w1) @ w2).argmax(dim=1)
    split = n * 9 // 10
    return (x[:split], y[:split]), (x[split:], y[split:])


class MLP(nn.Module):
    def __init__(self, features, hidden, classes):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x):
        return self.net(x)


def make_scaler(enabled):
    # torch.amp.GradScaler("cuda") from PyTorch 2.3; torch.cuda.amp.GradScaler before.
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def resolve_precision(requested, device_type):
    """(autocast dtype or None, use a GradScaler?, what to print)."""
    if requested == "none":
        return None, False, "fp32"
    if device_type == "cuda":
        if requested == "bf16" and not torch.cuda.is_bf16_supported():
            return torch.float16, True, "fp16 (bf16 unsupported on this GPU) + GradScaler"
        if requested == "fp16":
            return torch.float16, True, "fp16 autocast + GradScaler"
        return torch.bfloat16, False, "bf16 autocast"
    # CPU autocast runs in bfloat16; float16 there is not supported by older PyTorch.
    return torch.bfloat16, False, "bf16 autocast (CPU)" + (" instead of fp16" if requested == "fp16" else "")


def autocast(device_type, dtype):
    # nullcontext for fp32: CPU autocast warns about float32 even when disabled on old PyTorch.
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type, dtype=dtype)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # torchrun (and Falaj's preemption) stop workers with SIGTERM: exiting through SystemExit
    # lets the client's exit handler send the metrics still buffered.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
    if world > 1:
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    main_process = rank == 0

    ctx = falaj.JobContext(checkpoint_dir=args.checkpoint_dir)
    tracked = ctx.run_id is not None
    # Every rank reads the same values (the run's params win); only rank 0 records them.
    p = ctx.params(["--params", args.params] if args.params else [], log=main_process)
    hp = {
        "epochs": p.get_int("epochs", args.epochs),
        "batch_size": p.get_int("batch_size", args.batch_size),
        "lr": p.get_float("lr", args.lr),
        "hidden": p.get_int("hidden", args.hidden),
        "samples": p.get_int("samples", args.samples),
        "features": p.get_int("features", args.features),
        "classes": p.get_int("classes", args.classes),
        "seed": p.get_int("seed", args.seed),
        "precision": p.get_str("precision", args.precision),
    }
    if hp["precision"] not in ("bf16", "fp16", "none"):
        raise SystemExit(f"precision must be bf16, fp16 or none, not {hp['precision']!r}")
    amp_dtype, use_scaler, precision_note = resolve_precision(hp["precision"], device.type)

    (x_train, y_train), (x_val, y_val) = synthetic_data(hp["samples"], hp["features"], hp["classes"], hp["seed"])
    x_train, y_train, x_val, y_val = (t.to(device) for t in (x_train, y_train, x_val, y_val))

    torch.manual_seed(hp["seed"])
    model = MLP(hp["features"], hp["hidden"], hp["classes"]).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=0.01)
    scaler = make_scaler(use_scaler)

    start_epoch = 0
    path = ctx.load_checkpoint()
    if path:
        state = torch.load(path, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start_epoch = int(state["epoch"])
    ddp_model = DDP(model, device_ids=[device.index] if use_cuda else None) if world > 1 else model

    if main_process:
        where = torch.cuda.get_device_name(device) if use_cuda else "CPU"
        print(
            f"[train] torch {torch.__version__} on {where}; world size {world} "
            f"({'nccl' if use_cuda else 'gloo'} when > 1); precision {precision_note}; "
            f"attempt {ctx.attempt()}; tracking {'run ' + ctx.run_id if tracked else 'off (no FALAJ_RUN_ID)'}",
            flush=True,
        )
        print(
            f"[train] resumed from checkpoint {os.path.basename(path)} at epoch {start_epoch}"
            if path
            else "[train] no checkpoint: starting at epoch 0",
            flush=True,
        )

    sampler = DistributedSampler(
        range(len(x_train)), num_replicas=world, rank=rank, shuffle=True, seed=hp["seed"], drop_last=True
    )
    bs = hp["batch_size"]
    for epoch in range(start_epoch, hp["epochs"]):
        t0 = time.perf_counter()
        sampler.set_epoch(epoch)  # the same shuffle for this epoch on a resumed attempt
        order = torch.tensor(list(sampler), device=device)
        ddp_model.train()
        sums = torch.zeros(3, device=device)  # loss * n, correct, n
        for i in range(0, len(order) - bs + 1, bs):
            idx = order[i : i + bs]
            xb, yb = x_train[idx], y_train[idx]
            optimizer.zero_grad(set_to_none=True)
            with autocast(device.type, amp_dtype):
                logits = ddp_model(xb)
                loss = F.cross_entropy(logits.float(), yb)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            sums += torch.stack(
                [loss.detach() * len(yb), (logits.argmax(1) == yb).sum().float(), torch.tensor(float(len(yb)), device=device)]
            )
        if world > 1:
            dist.all_reduce(sums)
        if use_cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0

        ddp_model.eval()
        with torch.no_grad(), autocast(device.type, amp_dtype):
            logits = model(x_val).float()
            val_loss = F.cross_entropy(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        train_loss, correct, n = sums.tolist()
        done = epoch + 1
        metrics = {
            "train_loss": train_loss / n,
            "train_accuracy": correct / n,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "epoch_seconds": seconds,
            "samples_per_second": n / seconds,
        }
        if main_process:
            print(
                f"[train] epoch {done}/{hp['epochs']} train_loss {metrics['train_loss']:.4f} "
                f"train_acc {metrics['train_accuracy']:.4f} val_loss {val_loss:.4f} val_acc {val_acc:.4f} "
                f"({seconds:.2f}s, {metrics['samples_per_second']:.0f} samples/s)",
                flush=True,
            )
            if tracked:
                ctx.log_metrics(metrics, step=done)
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "epoch": done,
                "hparams": hp,
            }
            entry = ctx.save_checkpoint(state, step=done)
            print(f"[train] checkpoint {entry['file']} ({entry['size']} bytes)" + (" uploaded" if tracked else ""), flush=True)
        if world > 1:
            dist.barrier()  # nobody moves on (or fails below) before the checkpoint is kept
        if args.fail_once_at_epoch and done == args.fail_once_at_epoch and ctx.attempt() == 1:
            if main_process:
                print(f"[train] simulated failure after epoch {done} (attempt 1 only)", flush=True)
            ctx.flush()
            sys.exit(3)

    if main_process:
        ctx.flush()
        print(
            f"[train] done: {hp['epochs']} epochs, val_accuracy {metrics['val_accuracy']:.4f}"
            if start_epoch < hp["epochs"]
            else f"[train] nothing to do: checkpoint is at epoch {start_epoch} of {hp['epochs']}",
            flush=True,
        )
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
