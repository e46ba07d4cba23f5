"""Train the INN steganography module with DeepJSCC frozen (Tang et al. 2024, Section III-C).

Loss (13)-(16), each squared norm taken per image and divided by its n = 3*H*W source values
(a constant factor that keeps the paper's relative weights):
  L = l1 ||z_c - z_h||^2 + l2 ||l - l_hat||^2 + l3 ||z_p - z_p_hat||^2 + l4 ||z_h - z_h_hat||^2
      + l5 ||x_p - x_p_hat||^2
with the container power-normalised and sent over AWGN at an SNR drawn uniformly per batch.
``keyed``: the private latent goes through a uniformly random keyed transform per frame (a random
permutation with sign flips, :mod:`gr_stegsem.schemes.keyed`) before embedding and back after
extraction, so the INN learns to carry what a key makes of it; the losses are unchanged (the
transform is orthogonal).
``covert`` > 0: the covert INN (seed 001's GAN paradigm) -- a steganalyser (the detector network
of the steganalysis Eve) trained alongside on received containers vs received plain host symbols,
and ``covert`` x its non-saturating generator loss added to the INN's; with ``discriminators`` = K > 0,
a pool of K such steganalysers with their own optimisers and staggered restarts instead
(:mod:`gr_stegsem.train.covert`).
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .. import channel
from ..checkpoint import load_model, save_model
from ..metrics import psnr_from_mse
from ..models.deepjscc import DeepJSCC, from_complex, normalize_power, to_complex
from ..models.cnn_stego import CNNStego, CNNStegoConfig
from ..models.eve_nets import Detector, DetectorConfig
from ..models.inn import INNConfig, StegoINN
from ..schemes.keyed import BOB_DECODER, random_transforms, scramble, unscramble
from .covert import DiscriminatorPool
from .loop import LoopSettings, crop_batches, run, setup_distributed, through_frozen

PAPER_LAMBDAS = (1.0, 2.0, 2.0, 1.0, 1.0)


class StegoLink(nn.Module):
    """Embed -> normalise -> channel -> extract -> decode private; returns the loss terms."""

    def __init__(self, inn: StegoINN, jscc: DeepJSCC, kind: str = "awgn", keyed: bool = False,
                 disc: nn.Module | None = None, bob_decoder: nn.Module | None = None):
        super().__init__()
        self.inn, self.jscc, self.kind, self.keyed, self.disc = inn, jscc, kind, keyed, disc
        self.bob_decoder = bob_decoder  # trained with the INN: Bob's decoder of the private image (keyed)

    def forward(self, xh: torch.Tensor, xp: torch.Tensor, snr_db: float) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            zh, zp = self.jscc.encoder(torch.cat([xh, xp])).chunk(2)
        if self.keyed:  # a uniformly random key per frame: the keyed transform's distribution
            perm, signs = random_transforms(zp.shape[0], zp[0].numel(), zp.device)
            zp = scramble(zp, perm, signs)
        zc, lost = self.inn.embed(zh, zp)
        y = channel.apply(to_complex(normalize_power(zc)), snr_db, self.kind)
        y = from_complex(y, tuple(zc.shape[1:]))
        lost_hat = self.inn.lost_estimate(lost)
        zh_hat, zp_hat = self.inn.extract(y, lost_hat)
        zp_dec = unscramble(zp_hat, perm, signs) if self.keyed else zp_hat
        dec = self.bob_decoder if self.bob_decoder is not None else self.jscc.decoder
        xp_hat = dec(zp_dec)[..., : xp.shape[-2], : xp.shape[-1]]
        n = xp[0].numel()

        def sq(a, b):
            return (a - b).pow(2).flatten(1).sum(1).mean() / n

        terms = {"container": sq(zc, zh), "lost": sq(lost, lost_hat), "private_sym": sq(zp_hat, zp),
                 "host_sym": sq(zh_hat, zh), "private_img": sq(xp_hat, xp),
                 "private_mse": (xp_hat - xp).pow(2).mean().detach()}
        if self.disc is not None:
            terms.update(self._adversarial(y, zh, snr_db))
        return terms

    def _adversarial(self, y: torch.Tensor, zh: torch.Tensor, snr_db: float) -> dict[str, torch.Tensor]:
        """Seed 001's GAN paradigm on the channel output: the discriminator learns to tell received
        containers (1) from received plain host symbols (0) at the same SNR; the INN's term is the
        non-saturating generator loss -log(1 - D(y)) through a frozen copy of D's weights."""
        import torch.nn.functional as F

        cover = from_complex(channel.apply(to_complex(zh), snr_db, self.kind), tuple(zh.shape[1:]))
        if isinstance(self.disc, DiscriminatorPool):
            return self.disc.terms(y, cover)
        logits = self.disc(torch.cat([y.detach(), cover]))
        labels = torch.cat([torch.ones(len(y)), torch.zeros(len(y))]).to(y.device)
        d_loss = F.binary_cross_entropy_with_logits(logits, labels)
        g_logits = through_frozen(self.disc, y)
        g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.zeros_like(g_logits))
        acc = ((logits > 0).float() == labels).float().mean().detach()
        return {"disc": d_loss, "adv": g_loss, "disc_acc": acc}


def train_inn(jscc_path: str | Path, private: list[str], hosts: list[str], out: str | Path, *,
              lambdas: tuple[float, ...] = PAPER_LAMBDAS, blocks: int = 8, hidden: int = 32, clamp: float = 2.0,
              lost: str = "zeros", crop: int = 128, batch: int = 16, steps: int = 5000, lr: float = 3e-4,
              seed: int = 0, snr_range: tuple[float, float] = (0.0, 20.0), workers: int = 1,
              save_every: int = 250, resume: bool = True, preload: bool = False,
              minutes: float | None = None, init: str | Path | None = None, keyed: bool = False,
              covert: float = 0.0, arch: str = "inn", width: int = 48, layers: int = 3,
              bob_decoder: str | Path | None = None, precision: str = "fp32", discriminators: int = 0,
              disc_life: int = 1500, disc_warm: int = 300, adv_objective: str = "gan") -> dict:
    """``precision``: bf16 runs the forward passes under bfloat16 autocast (mixed precision: weights,
    optimiser state and losses stay float32; the models are trained channels-last, oneDNN's fast layout).
``bob_decoder``: with ``keyed``, also train Bob's decoder of the private image, starting from the
    DeepJSCC model at that path (e.g. the public one or a fine-tuned companion), and write it as the
    model's companion ``bob-decoder-<name>`` beside ``out`` (gr_stegsem.schemes.keyed).
    ``discriminators``: with ``covert``, K > 0 steganalysers with their own optimisers, each restarted
    from scratch every ``disc_life`` steps and counted after ``disc_warm`` (one process only), the INN
    trained against them by ``adv_objective`` (gan: the generator loss; features: feature matching);
    0: one discriminator in the INN's optimiser (the shipped stego-covert-l3_2's recipe)."""
    if len(lambdas) != 5 or min(lambdas) <= 0:
        raise ValueError(f"need five positive loss weights lambda1..lambda5, got {lambdas}")
    ddp = setup_distributed()
    jscc = load_model(jscc_path, "deepjscc").to(ddp.device).requires_grad_(False)
    torch.manual_seed(seed)
    if arch == "inn":
        inn = StegoINN(INNConfig(jscc.config.latent_channels, blocks, hidden, clamp, lost)).to(ddp.device)
    elif arch == "cnn":  # seed 001's non-invertible baseline
        inn = CNNStego(CNNStegoConfig(jscc.config.latent_channels, width, layers)).to(ddp.device)
    else:
        raise ValueError(f"arch must be 'inn' or 'cnn', got {arch!r}")
    if init is not None:  # fine-tune: start from a trained model's weights, with a fresh schedule
        start = load_model(init, "stego-inn" if arch == "inn" else "stego-cnn")
        if start.config != inn.config:
            raise ValueError(f"--init model {init} has {start.config}, not the requested {inn.config}")
        inn.load_state_dict(start.state_dict())
    if covert < 0:
        raise ValueError(f"the covert (adversarial) weight must be >= 0, got {covert}")
    if discriminators < 0:
        raise ValueError(f"the number of discriminators must be >= 0, got {discriminators}")
    if adv_objective != "gan" and not discriminators:
        raise ValueError("the feature-matching objective needs a discriminator pool (--discriminators K)")
    if discriminators and not covert:
        raise ValueError("a discriminator pool needs an adversarial weight (--covert W > 0)")
    if discriminators and ddp.world > 1:
        raise ValueError("the discriminator pool steps its own optimisers: train it in one process")
    channels = jscc.config.latent_channels
    if discriminators:
        disc = DiscriminatorPool(channels, discriminators, disc_life, disc_warm, objective=adv_objective).to(ddp.device)
    else:
        disc = Detector(DetectorConfig(channels=channels)).to(ddp.device) if covert > 0 else None
    dec = None
    if bob_decoder is not None:
        if not keyed or disc is not None or arch != "inn":
            raise ValueError("a trained Bob decoder is for the keyed INN (--keyed, no --covert, --arch inn)")
        start_dec = load_model(bob_decoder, "deepjscc")
        if start_dec.config != jscc.config:
            raise ValueError(f"--bob-decoder {bob_decoder} has DeepJSCC {start_dec.config.to_dict()}, not "
                             f"{jscc.config.to_dict()}")
        dec = start_dec.decoder.to(ddp.device).requires_grad_(True)
    link = StegoLink(inn, jscc, keyed=keyed, disc=disc, bob_decoder=dec).to(memory_format=torch.channels_last)
    net = DDP(link) if ddp.world > 1 else link
    per_rank = batch // ddp.world
    hb = crop_batches(hosts, crop, per_rank, seed + 7919 * ddp.rank, workers, preload, ddp.device)
    pb = crop_batches(private, crop, per_rank, seed + 104729 + 7919 * ddp.rank, workers, preload, ddp.device)
    lo, hi = snr_range
    names = ("container", "lost", "private_sym", "host_sym", "private_img")

    def step(_: int):
        xh, xp = (next(b).contiguous(memory_format=torch.channels_last) for b in (hb, pb))
        snr = float(torch.empty(()).uniform_(lo, hi))
        terms = net(xh, xp, snr)
        loss = sum(w * terms[k] for w, k in zip(lambdas, names))
        metrics = {k: terms[k].item() for k in names}
        if discriminators:  # the pool has stepped its own optimisers already
            loss = loss + covert * terms["adv"]
            metrics.update({k: terms[k].item() for k in ("adv", "disc", "disc_acc", "disc_mature")})
        elif disc is not None:  # the discriminator's own loss trains only its weights (y detached)
            loss = loss + covert * terms["adv"] + terms["disc"]
            metrics.update({k: terms[k].item() for k in ("adv", "disc", "disc_acc")})
        metrics.update(snr_db=snr, private_psnr=psnr_from_mse(terms["private_mse"].item()))
        return loss, metrics

    info = {"jscc": Path(jscc_path).name, "jscc_config": jscc.config.to_dict(), "lambdas": list(lambdas),
            "private": [str(d) for d in private], "hosts": [str(d) for d in hosts], "crop": crop,
            "batch": batch, "lr": lr, "seed": seed, "snr_range_db": list(snr_range), "world_size": ddp.world,
            "device": str(ddp.device), "init": str(init) if init is not None else None, "keyed": keyed}
    if covert > 0:
        info["covert"] = covert
    if discriminators:
        info["discriminators"] = {"members": discriminators, "life_steps": disc_life, "warm_steps": disc_warm,
                                  "lr": disc.lr, "objective": adv_objective}
    if dec is not None:
        info["bob_decoder"] = f"{BOB_DECODER}{Path(out).name}"
    if arch != "inn":
        info["arch"] = arch
    if precision != "fp32":
        info["precision"] = precision
    settings = LoopSettings(Path(out), steps, lr, seed, save_every, resume, info, minutes, precision)
    if dec is not None:  # both checkpointed (resumable); the INN exported, then the companion decoder
        both = nn.ModuleDict({"inn": inn, "bob_decoder": dec})
        last = run(both, both.parameters(), step, settings, ddp, export=inn)
        if ddp.rank == 0:
            companion = copy.deepcopy(jscc).cpu()
            companion.decoder.load_state_dict(dec.state_dict())
            save_model(companion, Path(out).parent / f"{BOB_DECODER}{Path(out).name}", trained_with=Path(out).name,
                       init=str(bob_decoder), **{k: v for k, v in info.items() if k in ("lambdas", "batch", "lr")})
        return last
    if disc is None:
        return run(inn, inn.parameters(), step, settings, ddp)
    # the discriminator is checkpointed with the INN (resumable) but not exported; a pool has its own optimisers
    both = nn.ModuleDict({"inn": inn, "disc": disc})
    return run(both, inn.parameters() if discriminators else both.parameters(), step, settings, ddp, export=inn)
