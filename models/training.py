"""Train a VAE on uint8 images; no Qt, no printing (callers show progress their own way).

A loss that becomes NaN or infinite (a learning rate far too large, say) stops training with
a TrainingError, so no caller saves a model whose weights are garbage.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer_models.errors import TrainingError
from explorer_models.vae import VAE


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    batch_size: int = 32  # more, smaller steps learn small details (eyes, mouths) sooner
    lr: float = 1e-3
    seed: int = 0
    # beta ramps up linearly from 0 over this many epochs, so the decoder learns to use z
    # before the KL term can switch latent units off (posterior collapse).
    kl_warmup_epochs: float = 1.0


@dataclass
class Progress:
    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based, within the epoch
    steps: int
    elbo: float  # running means over this epoch, nats per image
    recon: float
    kl: float


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one dict of epoch means per epoch
    seconds: float = 0.0
    stopped_early: bool = False


def train(
    model: VAE,
    images: np.ndarray,
    settings: TrainSettings,
    device: torch.device | str = "cpu",
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Maximise the (beta-weighted) ELBO with Adam and a cosine learning-rate decay."""
    torch.manual_seed(settings.seed)
    device = torch.device(device)
    model.to(device).train()
    # The whole uint8 dataset on the device: batches are then a gather, not a copy per step.
    data = torch.from_numpy(np.array(images, dtype=np.uint8)).to(device)  # a copy: may be a read-only memmap
    n = len(data)
    steps = max(math.ceil(n / settings.batch_size), 1)
    total = steps * settings.epochs
    warmup = max(settings.kl_warmup_epochs * steps, 1)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1))))
    order_gen = torch.Generator().manual_seed(settings.seed)
    noise_gen = torch.Generator(device=device).manual_seed(settings.seed + 1)

    result, t0, global_step = TrainResult(), time.perf_counter(), 0
    for epoch in range(1, settings.epochs + 1):
        perm = torch.randperm(n, generator=order_gen).to(device)
        sums = np.zeros(2)
        for step in range(1, steps + 1):
            idx = perm[(step - 1) * settings.batch_size : step * settings.batch_size]
            x = data[idx].permute(0, 3, 1, 2).float().div_(255)
            terms = model.elbo_terms(x, noise_gen)
            beta = model.config.beta * min(global_step / warmup, 1.0)
            loss = (terms.recon + beta * terms.kl).mean()
            recon_sum, kl_sum, loss_value = torch.stack([terms.recon.sum(), terms.kl.sum(), loss]).tolist()
            if not math.isfinite(loss_value):  # checked before the step, which would spread it to every weight
                raise _diverged(f"at epoch {epoch}, step {step} of {steps}", recon_sum, kl_sum, settings.lr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            global_step += 1
            sums += [recon_sum, kl_sum]
            seen = min(step * settings.batch_size, n)
            recon, kl = sums / seen
            if on_progress:
                on_progress(Progress(epoch, settings.epochs, step, steps, -(recon + kl), recon, kl))
            if should_stop and should_stop():
                result.stopped_early = True
                break
        result.history.append({"epoch": epoch, "elbo": -(recon + kl), "recon": recon, "kl": kl})
        if result.stopped_early:
            break
    result.seconds = time.perf_counter() - t0
    model.eval()
    if global_step:  # no loss follows the last update: check it on the last batch
        with torch.no_grad():
            terms = model.elbo_terms(x, torch.Generator(device=device).manual_seed(settings.seed))
        recon_sum, kl_sum = terms.recon.sum().item(), terms.kl.sum().item()
        if not (math.isfinite(recon_sum) and math.isfinite(kl_sum)):
            raise _diverged(f"in its last step (epoch {epoch}, step {step} of {steps})", recon_sum, kl_sum, settings.lr)
    return result


def _diverged(where: str, recon: float, kl: float, lr: float) -> TrainingError:
    bad = [f"{name} {value}" for name, value in (("recon", recon), ("KL", kl)) if not math.isfinite(value)]
    if bad:
        cause = (
            f"the loss became non-finite ({', '.join(bad)}); the learning rate (lr {lr:g}) is probably too "
            f"large, try a smaller one"
        )
    else:  # both terms finite: their beta-weighted sum is what overflowed
        cause = "the KL term times beta overflowed; beta is far too large"
    return TrainingError(f"training diverged {where}: {cause}")
