"""The training loop shared by DeepJSCC and INN training: seeding, torchrun/DDP, resume,
progress bar, CSV log, periodic checkpoints."""
from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.distributed as dist
from tqdm import tqdm

from ..checkpoint import load_state, save_model, save_state
from ..images import PreloadedCrops, RandomCrops


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Dist:
    """Join the process group when launched by torchrun (NCCL on GPUs, gloo on CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick its fastest kernels
    if world == 1:
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return Dist(0, 1, dev)
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        dev, backend = torch.device("cuda", local), "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Dist(rank, world, dev)


def infinite_batches(dataset, batch: int, seed: int, workers: int) -> Iterator[torch.Tensor]:
    """Endless shuffled batches; ``seed`` fixes the order and the random crops."""
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
        generator=g, persistent_workers=workers > 0,
    )
    if len(loader) == 0:
        raise ValueError(f"{len(dataset)} images are fewer than one batch of {batch}")
    while True:
        yield from loader


def crop_batches(folders, crop: int, batch: int, seed: int, workers: int, preload: bool,
                 device: torch.device) -> Iterator[torch.Tensor]:
    """Endless batches of random crops on ``device``: decoded by DataLoader workers, or, with
    ``preload``, decoded once into device memory and cropped there (for GPUs)."""
    if preload:
        return PreloadedCrops(folders, crop, device).batches(batch, seed)
    return (x.to(device, non_blocking=True) for x in infinite_batches(RandomCrops(folders, crop), batch, seed, workers))


def steps_in(seconds: float, rate: float) -> int:
    """Steps that fit in ``seconds`` at ``rate`` steps/s, with a 3 % margin (at least one)."""
    return max(int(seconds * rate * 0.97), 1)


def budget_steps(minutes: float, started: float, since: float, measured: int) -> tuple[float, int]:
    """(rate, steps left) for a ``minutes`` budget begun at time ``started``: the rate (steps/s) of the
    ``measured`` steps timed from ``since`` to now, and the steps that fit in the time left at that rate."""
    now = time.time()
    rate = measured / max(now - since, 1e-9)
    return rate, steps_in(minutes * 60 - (now - started), rate)


def through_frozen(module: torch.nn.Module, *args):
    """``module(*args)`` with its weights detached: the gradient reaches the inputs only (a GAN's
    generator step through its discriminator, the IBAL codec's step through its adversary)."""
    from torch.func import functional_call

    return functional_call(module, {k: v.detach() for k, v in module.named_parameters()}, args)


def cosine_lr(step: int, total: int, lr: float, final_fraction: float = 0.1) -> float:
    """Cosine decay from lr to final_fraction*lr over total steps."""
    t = min(step / max(total, 1), 1.0)
    return lr * (final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * t)))


TRAIN_PRECISIONS = ("fp32", "bf16")


@dataclass
class LoopSettings:
    out: Path  # model path without suffix; the state goes to OUT.state.pt, the log to OUT.csv
    steps: int
    lr: float
    seed: int = 0
    save_every: int = 500
    resume: bool = True
    info: dict | None = None  # extra fields for the model's JSON
    minutes: float | None = None  # wall-clock budget of this run; the schedule is fitted to it
    precision: str = "fp32"  # bf16: the forward pass under bfloat16 autocast (weights, optimiser, loss float32)

    def __post_init__(self):
        if self.precision not in TRAIN_PRECISIONS:
            raise ValueError(f"training precision must be one of {TRAIN_PRECISIONS}, got {self.precision!r}")
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"the time budget must be > 0 minutes, got {self.minutes}")


def run(module: torch.nn.Module, params, step_fn: Callable[[int], tuple[torch.Tensor, dict]],
        settings: LoopSettings, ddp: Dist, export: torch.nn.Module | None = None) -> dict:
    """Optimise ``params`` with Adam on ``step_fn(step) -> (loss, metrics)`` for settings.steps.

    ``module`` is what gets checkpointed (its state dict), ``export`` the model written as
    safetensors (defaults to ``module``). Resumes from OUT.state.pt when present.
    """
    out = Path(settings.out)
    state_path = out.parent / f"{out.name}.state.pt"  # appended: a name may hold a dot (dp-0.9)
    log_path = out.parent / f"{out.name}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    opt = torch.optim.Adam(params, lr=settings.lr)
    step, wall = 0, 0.0
    if settings.resume and state_path.is_file():
        st = load_state(state_path)
        module.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        step, wall = int(st["step"]), float(st.get("wall_s", 0.0))
        if ddp.main:
            print(f"resuming {out.name} from step {step}")
    torch.manual_seed(settings.seed * 1000 + ddp.rank + step)
    export = export or module
    last: dict = {}

    def checkpoint():
        if not ddp.main:
            return
        save_state({"model": module.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "wall_s": wall}, state_path)
        save_model(export, out, steps=step, wall_time_s=round(wall, 1), **(settings.info or {}))

    new_log = not log_path.is_file() or step == 0
    logf = open(log_path, "w" if new_log else "a", newline="") if ddp.main else None
    writer = None
    bar = tqdm(total=settings.steps, initial=step, disable=not ddp.main, desc=f"train {out.name}",
               dynamic_ncols=True, mininterval=2.0)
    start, started, total = step, time.time(), settings.steps
    t20 = started  # when step start + 20 began (set then; the rate of steps 20..60 fits a time budget)
    try:
        while step < total:
            if settings.minutes and step == start + 60:
                # fit the cosine schedule's end to the time budget, from the rate of steps 20..60
                rate, left = budget_steps(settings.minutes, started, t20, 40)
                total = min(total, step + left)
                if dist.is_initialized():  # every rank follows rank 0's schedule
                    t = torch.tensor([total], device=ddp.device)
                    dist.broadcast(t, 0)
                    total = int(t.item())
                bar.total = total
                if ddp.main:
                    print(f"\n{rate:.1f} steps/s: {total} steps fit in {settings.minutes} min", flush=True)
            if step == start + 20:
                t20 = time.time()
            t0 = time.time()
            # while a time-budgeted run measures its rate, the low final rate (a gentle warm-up)
            measuring = settings.minutes and step < start + 60
            for group in opt.param_groups:
                group["lr"] = cosine_lr(total if measuring else step, total, settings.lr)
            with torch.autocast(ddp.device.type, torch.bfloat16, enabled=settings.precision == "bf16"):
                loss, metrics = step_fn(step)
            loss = loss.float()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            wall += time.time() - t0
            last = {"step": step, "loss": loss.item(), **{k: float(v) for k, v in metrics.items()},
                    "lr": opt.param_groups[0]["lr"], "wall_s": round(wall, 2)}
            if logf is not None:
                if writer is None:
                    writer = csv.DictWriter(logf, fieldnames=list(last))
                    if new_log:
                        writer.writeheader()
                writer.writerow(last)
                if step % 20 == 0:
                    logf.flush()
            bar.update(1)
            if step % 10 == 0:
                bar.set_postfix({k: f"{v:.4g}" for k, v in last.items() if k not in ("step", "wall_s", "lr")})
            if step % settings.save_every == 0:
                checkpoint()
        checkpoint()
        if dist.is_initialized():
            # leave together: a rank that exits while another still talks to it makes gloo abort
            # that one (SIGABRT seen in a loaded CI run)
            dist.barrier()
            dist.destroy_process_group()
    finally:
        bar.close()
        if logf is not None:
            logf.close()
    return last
