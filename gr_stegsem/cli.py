"""``stegsem``: the command line over the library (train, eval, send) and the GNU Radio flowgraphs
(demo, zmq, replay, watch)."""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import click

from .checkpoint import CheckpointError


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not vals:
        raise click.BadParameter(f"{what} is empty")
    return vals


def _writable_folder(ctx, param, value):
    """An output folder that is, or can be created as, a writable folder: checked before any work."""
    if value is None:
        return value
    path = probe = Path(value)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise click.BadParameter(f"{path}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{path}: {probe} is not writable")
    return value


def _zmq_address(ctx, param, value):
    """A ZeroMQ endpoint (tcp://host:port, ipc://..., ...); None keeps the default."""
    from .watch import check_address

    if value is None:
        return value
    try:
        return check_address(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch (default: torch's choice).")
def cli(threads):
    """gr-stegsem: secure semantic image transmission with INN signal steganography."""
    if threads:
        import torch

        torch.set_num_threads(threads)


@cli.group()
def train():
    """Train DeepJSCC, the steganography INN or an Eve's model (resumable; DDP under torchrun)."""


_common = [
    click.option("--out", required=True, type=click.Path(path_type=Path),
                 help="Model path without suffix: writes OUT.safetensors, OUT.json, OUT.csv, OUT.state.pt."),
    click.option("--crop", default=128, show_default=True, help="Random crop size (px)."),
    click.option("--steps", default=10000, show_default=True, help="Optimiser steps in total."),
    click.option("--seed", default=0, show_default=True),
    click.option("--snr", "snr", default="0,20", show_default=True, help="SNR range MIN,MAX (dB, Es/N0)."),
    click.option("--workers", default=1, show_default=True, help="DataLoader worker processes."),
    click.option("--save-every", default=250, show_default=True, help="Checkpoint period (steps)."),
    click.option("--resume/--no-resume", default=True, show_default=True, help="Continue from OUT.state.pt."),
    click.option("--preload", is_flag=True,
                 help="Decode every image once into the training device's memory and crop there (GPUs)."),
    click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Wall-clock budget of this run: stop at --steps or when the time is up, the cosine "
                      "schedule fitted to end then."),
]


def common(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


def _snr_range(text):
    vals = _floats(text, "--snr")
    if len(vals) != 2 or vals[0] > vals[1]:
        raise click.BadParameter(f"--snr must be MIN,MAX with MIN <= MAX, got {text!r}")
    return vals


@train.command("jscc")
@click.option("--data", multiple=True, required=True, type=click.Path(file_okay=False),
              help="Image folder (recursive JPEG/PNG); repeat for several.")
@click.option("--bcr", default="1/12", show_default=True, help="Bandwidth compression ratio k/n.")
@click.option("--width1", default=16, show_default=True, help="Channels of the first conv layer.")
@click.option("--width", default=32, show_default=True, help="Channels of the inner conv layers.")
@click.option("--batch", default=32, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--channel", type=click.Choice(["awgn", "rayleigh"]), default="awgn", show_default=True)
@common
def train_jscc_cmd(data, bcr, width1, width, batch, lr, channel, out, crop, steps, seed, snr, workers,
                   save_every, resume, preload, minutes):
    """DeepJSCC with MSE, SNR uniform per batch (Bourtsoulatze et al. 2019)."""
    from .train.jscc import train_jscc

    last = train_jscc(list(data), out, bcr=bcr, width1=width1, width=width, crop=crop, batch=batch, steps=steps,
                      lr=lr, seed=seed, snr_range=_snr_range(snr), channel_kind=channel, workers=workers,
                      save_every=save_every, resume=resume, preload=preload, minutes=minutes)
    click.echo(f"wrote {out}.safetensors: {last}")


@train.command("inn")
@click.option("--jscc", "jscc_path", required=True, type=click.Path(), help="Frozen DeepJSCC model.")
@click.option("--private", multiple=True, required=True, type=click.Path(file_okay=False))
@click.option("--hosts", multiple=True, required=True, type=click.Path(file_okay=False))
@click.option("--lambdas", default="1,2,2,1,1", show_default=True, help="λ1..λ5 of loss (13)-(16).")
@click.option("--lambda3", type=float, default=None, help="Override λ3 only (the paper's variants: 2, 4).")
@click.option("--blocks", default=8, show_default=True, help="Invertible blocks I.")
@click.option("--hidden", default=32, show_default=True, help="Width of Φ, ρ, η.")
@click.option("--lost", type=click.Choice(["zeros", "gaussian"]), default="zeros", show_default=True,
              help="Bob's estimate of the lost information l.")
@click.option("--batch", default=16, show_default=True)
@click.option("--lr", default=3e-4, show_default=True)
@click.option("--init", type=click.Path(dir_okay=False), default=None,
              help="Start from this steganography model's weights (fine-tuning; same architecture).")
@click.option("--keyed", is_flag=True, help="Train for keyed steganography: a random keyed transform of the private "
              "latent per frame (the stego-keyed-* schemes).")
@click.option("--covert", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Weight of the adversarial term against a steganalyser trained alongside (stego-covert-*; 0: off).")
@click.option("--discriminators", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --covert: a pool of this many steganalysers with their own optimisers, restarted from "
              "scratch in turn (gr_stegsem/train/covert.py); 0: one, in the INN's optimiser.")
@click.option("--disc-life", type=click.IntRange(min=2), default=1500, show_default=True,
              help="Steps between restarts of each pool member.")
@click.option("--disc-warm", type=click.IntRange(min=0), default=300, show_default=True,
              help="Steps a restarted member trains before it counts in the INN's adversarial term.")
@click.option("--adv-objective", type=click.Choice(["gan", "features"]), default="gan", show_default=True,
              help="With --discriminators: the INN's term against the pool (gan: generator loss; features: "
              "feature matching on the detectors' pooled statistics).")
@click.option("--bob-decoder", type=click.Path(dir_okay=False), default=None,
              help="With --keyed: also train Bob's private-image decoder from this DeepJSCC model; written as the "
              "companion bob-decoder-<name> beside --out.")
@click.option("--arch", type=click.Choice(["inn", "cnn"]), default="inn", show_default=True,
              help="inn: the paper's invertible network; cnn: seed 001's conv embedder + extractor (stego-cnn-*).")
@click.option("--width", default=48, show_default=True, help="--arch cnn: hidden channels.")
@click.option("--layers", default=3, show_default=True, help="--arch cnn: hidden layers of each network.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16: mixed-precision training (bfloat16 autocast; pays where bfloat16 is native, e.g. AMX).")
@common
def train_inn_cmd(jscc_path, private, hosts, lambdas, lambda3, blocks, hidden, lost, batch, lr, init, keyed, covert,
                  discriminators, disc_life, disc_warm, adv_objective, bob_decoder, arch, width, layers, precision, out, crop, steps, seed, snr, workers, save_every, resume, preload, minutes):
    """INN signal steganography, DeepJSCC frozen (Tang et al. 2024, loss 13-16)."""
    from .train.inn import train_inn

    lam = list(_floats(lambdas, "--lambdas"))
    if len(lam) != 5:
        raise click.BadParameter(f"--lambdas needs five values, got {len(lam)}")
    if lambda3 is not None:
        lam[2] = lambda3
    last = train_inn(jscc_path, list(private), list(hosts), out, lambdas=tuple(lam), blocks=blocks, hidden=hidden,
                     lost=lost, crop=crop, batch=batch, steps=steps, lr=lr, seed=seed, snr_range=_snr_range(snr),
                     workers=workers, save_every=save_every, resume=resume, preload=preload, minutes=minutes, init=init,
                     keyed=keyed, covert=covert, arch=arch, width=width, layers=layers, bob_decoder=bob_decoder,
                     precision=precision, discriminators=discriminators, disc_life=disc_life, disc_warm=disc_warm,
                     adv_objective=adv_objective)
    click.echo(f"wrote {out}.safetensors: {last}")


@train.command("ibal")
@click.option("--init", "jscc_init", default="models/deepjscc-bcr12", show_default=True, type=click.Path(),
              help="The DeepJSCC model the codec starts from.")
@click.option("--data", multiple=True, required=True, type=click.Path(file_okay=False))
@click.option("--beta", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Weight of the adversarial hinge.")
@click.option("--tau", type=click.FloatRange(min=0, min_open=True), default=0.06, show_default=True,
              help="Adversary MSE (images in [0, 1]) beyond which the codec is no longer rewarded.")
@click.option("--adversary-init", type=click.Path(), default=None,
              help="An eve-inverter model the adversary starts from (e.g. models/eve-inversion); default: fresh.")
@click.option("--batch", default=16, show_default=True)
@click.option("--lr", default=2e-4, show_default=True)
@common
def train_ibal_cmd(jscc_init, data, beta, tau, adversary_init, batch, lr, out, crop, steps, seed, snr, workers,
                   save_every, resume, preload, minutes):
    """IBAL: DeepJSCC fine-tuned against an inversion adversary (seed 004's Scheme 3; scheme ibal-*)."""
    from .train.ibal import train_ibal

    last = train_ibal(jscc_init, list(data), out, beta=beta, tau=tau, crop=crop, batch=batch, steps=steps, lr=lr,
                      seed=seed, snr_range=_snr_range(snr), workers=workers, save_every=save_every, resume=resume,
                      preload=preload, minutes=minutes, adversary_init=adversary_init)
    click.echo(f"wrote {out}.safetensors: {last}")


@train.command("lbvq")
@click.option("--init", "jscc_init", default="models/deepjscc-bcr12", show_default=True, type=click.Path(),
              help="The DeepJSCC model the codec starts from.")
@click.option("--data", multiple=True, required=True, type=click.Path(file_okay=False))
@click.option("--codebook", type=click.Choice(["4", "16", "64", "256"]), default="16", show_default=True,
              help="Codewords K = QAM order (4 bits per channel use at 16).")
@click.option("--batch", default=16, show_default=True)
@click.option("--lr", default=2e-4, show_default=True)
@common
def train_lbvq_cmd(jscc_init, data, codebook, batch, lr, out, crop, steps, seed, snr, workers, save_every, resume,
                   preload, minutes):
    """DeepJSCC-LBVQ: a learned codebook, indices sent as Gray QAM (seed 004's Scheme 4; scheme lbvq-*)."""
    from .train.digital import train_lbvq

    last = train_lbvq(jscc_init, list(data), out, codebook=int(codebook), crop=crop, batch=batch, steps=steps, lr=lr,
                      seed=seed, snr_range=_snr_range(snr), workers=workers, save_every=save_every, resume=resume,
                      preload=preload, minutes=minutes)
    click.echo(f"wrote {out}.safetensors: {last}")


@train.command("jscec")
@click.option("--init", "jscc_init", default="models/deepjscc-bcr12", show_default=True, type=click.Path(),
              help="The DeepJSCC model the codec starts from.")
@click.option("--data", multiple=True, required=True, type=click.Path(file_okay=False))
@click.option("--lwe-n", type=click.IntRange(16, 2048), default=512, show_default=True, help="LWE dimension n.")
@click.option("--batch", default=16, show_default=True)
@click.option("--lr", default=2e-4, show_default=True)
@common
def train_jscec_cmd(jscc_init, data, lwe_n, batch, lr, out, crop, steps, seed, snr, workers, save_every, resume,
                    preload, minutes):
    """DeepJSCEC: quantised phases under public-key LWE (seed 003; scheme jscec-*; q 4093, p 16, σ 3.54)."""
    from .lwe import LWEParams
    from .train.digital import train_jscec

    last = train_jscec(jscc_init, list(data), out, params=LWEParams(n=lwe_n), crop=crop, batch=batch, steps=steps,
                       lr=lr, seed=seed, snr_range=_snr_range(snr), workers=workers, save_every=save_every,
                       resume=resume, preload=preload, minutes=minutes)
    click.echo(f"wrote {out}.safetensors: {last}")


@train.command("eve")
@click.argument("kind")
@click.option("--scheme", default="stego-l3_2", show_default=True,
              help="The scheme she attacks (deepjscc or a stego-* model in --models).")
@click.option("--private", multiple=True, required=True, type=click.Path(file_okay=False),
              help="Her public private-like images (e.g. faces/train); repeat for several folders.")
@click.option("--hosts", multiple=True, required=True, type=click.Path(file_okay=False),
              help="Her public host images (e.g. scenes/train).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False), default=None,
              help="Folder with the scheme's models (default: the shipped ones).")
@click.option("--batch", default=16, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--init", type=click.Path(dir_okay=False), default=None,
              help="Start from this model of the same kind (e.g. the closed-box inverter for 'chosen').")
@click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None, callback=lambda c, p, v: _key(v),
              help="Keyed schemes: the key of the transmitter she captured (default: a random one she never sees).")
@common
def train_eve_cmd(kind, scheme, private, hosts, models_dir, batch, lr, init, key_file, out, crop, steps, seed, snr,
                  workers, save_every, resume, preload, minutes):
    """An eavesdropper's model: KIND is inversion, chosen, surrogate or detect (see gr_stegsem/eves/)."""
    from .train.eve import train_eve

    last = train_eve(kind, scheme, out, private=list(private), hosts=list(hosts), models_dir=models_dir, crop=crop,
                     batch=batch, steps=steps, lr=lr, seed=seed, snr_range=_snr_range(snr), workers=workers,
                     save_every=save_every, resume=resume, preload=preload, minutes=minutes, init=init, key=key_file)
    click.echo(f"wrote {out}.safetensors: {last}")


@cli.command("eval")
@click.option("--data", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Private images (any size; >160 px for MS-SSIM).")
@click.option("--hosts", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Host images, resized to each private image's size.")
@click.option("--out", required=True, type=click.Path(path_type=Path), callback=_writable_folder)
@click.option("--snrs", default="0,5,10,15,20", show_default=True, help="SNRs of Bob's and Eve's links (dB).")
@click.option("--eve-snr", default=5.0, show_default=True, help="Eve's SNR for Table I and Fig. 5 (dB).")
@click.option("--eve-snrs", default=None, help="Eve's SNRs (dB; default: --snrs); --eve-snr is always among them.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use the first N images only.")
@click.option("--mia-steps", type=click.IntRange(min=0), default=200, show_default=True,
              help="Adam steps of the model inversion (0: skip).")
@click.option("--mia-limit", type=click.IntRange(min=0), default=8, show_default=True,
              help="Images attacked by MIA per SNR.")
@click.option("--mia-lr", default=0.05, show_default=True, help="Adam learning rate of the model inversion.")
@click.option("--mia-tv", default=1.0, show_default=True, help="Weight of the inversion's total-variation prior.")
@click.option("--systems", default="deepjscc,stego-l3_2,stego-l3_4", show_default=True,
              help="deepjscc and/or steganography models (stego-*) in --models.")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with deepjscc-bcr12 and stego-* models (default: the shipped ones).")
@click.option("--attacks", default="naive,mia", show_default=True,
              help="Eve's attacks (gr_stegsem/eves/): naive, mia, inversion, glassbox, chosen, surrogate, detect, "
                   "or 'all'. Trained attackers use their models in --models.")
@click.option("--channel", type=click.Choice(["awgn", "rayleigh"]), default="awgn", show_default=True)
@click.option("--lost", type=click.Choice(["zeros", "gaussian"]), default=None,
              help="Bob's (and the glass-box Eve's) l_hat (default: the model's).")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None, callback=lambda c, p, v: _key(v),
              help="Key file of the keyed schemes (stego-keyed-*); default: a fresh random key for this run.")
@click.option("--skip-missing", is_flag=True,
              help="Skip a trained Eve that has no model against a scheme (default: an error before any work).")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "int8", "auto"]), default="fp32", show_default=True,
              help="Inference precision of the models (gr_stegsem/precision.py; bf16 and int8 fall back to fp32 where "
                   "the CPU or torch lacks them).")
@click.option("--device", default="cpu", show_default=True, callback=lambda c, p, v: _device(v),
              help="Where the models and metrics run: cpu, cuda, cuda:N or auto (cuda where available; "
                   "gr_stegsem/device.py). The channel noise is drawn on the CPU either way.")
def eval_cmd(data, hosts, out, snrs, eve_snr, eve_snrs, limit, mia_steps, mia_limit, mia_lr, mia_tv, systems, models_dir, attacks,
             channel, lost, seed, batch, key_file, skip_missing, precision, device):
    """Reproduce the paper's figures (3, 4, 5) and Table I on image folders, and the security report.

    Writes OUT/results.{json,csv,md}, fig3_bob.png, fig4_eve.png, fig5_grid.png, and security.md with
    fig_security.png (every scheme against every attacker of --attacks).
    """
    from . import eves
    from .evaluate import EvalSettings, evaluate

    picked = eves.names() if attacks.strip() == "all" else [a.strip() for a in attacks.split(",") if a.strip()]
    for a in picked:
        eves.get(a)  # an unknown attack: one error line

    s = EvalSettings(data=data, out=out, hosts=hosts, snrs=_floats(snrs, "--snrs"), eve_snr=eve_snr, limit=limit,
                     mia_steps=mia_steps, mia_limit=mia_limit, mia_lr=mia_lr, mia_tv=mia_tv,
                     systems=tuple(x.strip() for x in systems.split(",") if x.strip()), channel=channel,
                     seed=seed, batch=batch, models_dir=models_dir, lost=lost, attacks=tuple(picked), key=key_file,
                     skip_missing=skip_missing, eve_snrs=_floats(eve_snrs, "--eve-snrs") if eve_snrs else None,
                     precision=precision, device=device)
    evaluate(s)
    click.echo((out / "results.md").read_text())
    if (out / "security.md").is_file():
        click.echo((out / "security.md").read_text())
    click.echo(f"results in {out}/ (results.json, results.csv, results.md, fig3_bob.png, fig4_eve.png, fig5_grid.png, "
               "security.md, fig_security.png)")


@cli.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--lwe-public", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the DeepJSCEC public key of PATH's key (Alice's, publishable) to this file; "
                   "an existing PATH is then used, not replaced.")
@click.option("--lwe-size", type=click.IntRange(4, 4096), default=512, show_default=True,
              help="--lwe-public: the largest frame side (px) the public key encrypts (frames of H*W/4 symbols).")
@click.option("--lwe-n", type=click.IntRange(16, 2048), default=512, show_default=True,
              help="--lwe-public: LWE dimension n (the shipped jscec-n512 model's).")
def keygen_cmd(path, force, lwe_public, lwe_size, lwe_n):
    """Write a fresh 256-bit key to PATH (64 hex digits, readable by its owner only) for the keyed schemes.

    Give the same file to Alice and Bob (--key PATH); keep it off shared disks and out of version control.
    For DeepJSCEC, PATH is Bob's secret key and --lwe-public writes the public key Alice encrypts to."""
    from .keys import BadKey, load_key, write_key

    try:
        if lwe_public is not None and path.exists() and not force:
            key = load_key(path)
            click.echo(f"using key {key.fingerprint()} of {path}")
        else:
            key = write_key(path, force=force)
            click.echo(f"wrote key {key.fingerprint()} to {path} (mode 0600)")
        if lwe_public is not None:
            from . import lwe

            sk = lwe.SecretKey(key, lwe.LWEParams(n=lwe_n))
            pk = sk.public(4 * math.ceil(lwe_size / 4) ** 2)
            lwe.write_public(lwe_public, pk)
            click.echo(f"wrote the LWE public key (n {lwe_n}, frames up to {lwe_size}x{lwe_size} px, "
                       f"{pk.max_symbols} symbols) to {lwe_public}")
    except (BadKey, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None


def _device(value: str) -> str:
    """A --device value, checked here (a CUDA device this torch cannot use: one line, before any work)."""
    from .device import resolve_device

    try:
        resolve_device(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


def _key(path):
    """--key FILE -> Key (checked now: one error line for a missing, unreadable or malformed file)."""
    if path is None:
        return None
    from .keys import BadKey, load_key

    try:
        return load_key(Path(path))
    except BadKey as e:
        raise click.BadParameter(str(e)) from None


@cli.command("grc")
@click.argument("flowgraph", required=False)
@click.option("--print", "dry", is_flag=True, help="Print the command and environment instead of starting GRC.")
@click.option("--register", "register", flag_value="add", default=None,
              help="Add the block YAML folder to local_blocks_path in ~/.gnuradio/config.conf (GRC then finds the "
                   "blocks without GRC_BLOCKS_PATH) and exit; tools/setup.sh does this.")
@click.option("--unregister", "register", flag_value="remove", help="Take it out again and exit.")
def grc_cmd(flowgraph, dry, register):
    """GNU Radio Companion with gr-stegsem's blocks, under this Python (the one that has torch).

    FLOWGRAPH: a shipped flowgraph's name (e.g. sim_awgn) or a .grc file. GRC started from
    /usr/bin/python3 cannot import the blocks (no torch there), and without the block YAML on its
    path it shows them as missing: this sets GRC_BLOCKS_PATH (and PYTHONPATH when run from a checkout).
    The shipped flowgraphs and block YAML are the checkout's or the installed package's."""
    import os
    import shutil
    import sys

    from .resources import flowgraphs_dir, grc_dir, python_path, register_grc

    if register:
        conf, changed = register_grc(remove=register == "remove")
        verb = "added" if register == "add" else "removed"
        click.echo(f"{verb} {grc_dir()} {'to' if register == 'add' else 'from'} local_blocks_path in {conf}"
                   if changed else f"{conf}: nothing to change")
        return
    args = []
    if flowgraph:
        p = Path(flowgraph)
        if not p.suffix:
            p = flowgraphs_dir() / f"{flowgraph}.grc"
        if not p.is_file():
            raise click.BadParameter(f"no flowgraph {p}", param_hint="FLOWGRAPH")
        args.append(str(p))
    gui = shutil.which("gnuradio-companion")
    if gui is None:
        raise click.ClickException("gnuradio-companion not found (GNU Radio: bash tools/setup.sh)")
    env = dict(os.environ)
    env["GRC_BLOCKS_PATH"] = os.pathsep.join(x for x in (str(grc_dir()), env.get("GRC_BLOCKS_PATH", "")) if x)
    shown = f"GRC_BLOCKS_PATH={env['GRC_BLOCKS_PATH']}"
    if python_path() is not None:
        env["PYTHONPATH"] = os.pathsep.join(x for x in (str(python_path()), env.get("PYTHONPATH", "")) if x)
        shown += f" PYTHONPATH={env['PYTHONPATH']}"
    cmd = [sys.executable, gui] + args
    if dry:
        click.echo(f"{shown} {' '.join(cmd)}")
        return
    os.execve(sys.executable, cmd, env)


@cli.command("report")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--eve-snr", default=5.0, show_default=True, help="Eve's SNR of Table I and the security report (dB).")
def report_cmd(out, eve_snr):
    """Render the tables, figures and security report of an eval folder OUT again from its results.json."""
    from .evaluate import rerender

    files = rerender(out, eve_snr)
    if (out / "security.md").is_file():
        click.echo((out / "security.md").read_text())
    click.echo(f"wrote {', '.join(files)} in {out}/")


def _key_path(ctx, param, value):
    """--key FILE for the flowgraphs: checked now (one error line), passed on as a path."""
    if value is None:
        return ""
    _key(value)
    return str(Path(value).expanduser())


def _model_paths(model, jscc_model, inn_model) -> tuple[str, str]:
    from .system import default_model

    return (str(jscc_model or default_model("deepjscc-bcr12")), str(inn_model or default_model(model)))


def _model_options(f):
    opts = [
        click.option("--jscc-model", type=click.Path(dir_okay=False), default=None,
                     help="DeepJSCC model file (default: the shipped models/deepjscc-bcr12)."),
        click.option("--inn-model", type=click.Path(dir_okay=False), default=None,
                     help="Steganography model file (default: the shipped --model)."),
        click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None, callback=_key_path,
                     help="Key file shared by Alice and Bob, for keyed models (stego-keyed-*; 'stegsem keygen')."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _send(host, private, out, snr_bob, snr_eve, insecure, mia_steps, size, seed, model, jscc_model=None,
          inn_model=None, key_file=""):
    from .images import load_image
    from .pipeline import transmit, write_report
    from .samples import default_host, default_private
    from .system import StegoSystem

    xp = load_image(private, (size, size)) if private else default_private(size)
    xh = load_image(host, (size, size)) if host else default_host(size)
    jscc, inn = _model_paths(model, jscc_model, inn_model)
    system = StegoSystem.load(jscc, None if insecure else inn)
    _need_key(system, key_file)
    res = transmit(system, xh, xp, snr_bob, snr_eve, mia_steps=mia_steps, seed=seed, progress=True,
                   key=key_file or None)
    title = (f"{'plain DeepJSCC' if insecure else system.name}: Bob at {snr_bob:g} dB, Eve at {snr_eve:g} dB")
    grid = write_report(res, xh, xp, Path(out), title)
    click.echo((Path(out) / "metrics.md").read_text())
    click.echo(f"wrote {grid} and {Path(out) / 'metrics.md'}")


def _need_key(system, key_file) -> None:
    if system.keyed and not key_file:
        raise click.UsageError(f"model {system.name} is keyed: give Alice's and Bob's key with --key FILE "
                               "(make one with 'stegsem keygen FILE')")
    if key_file and not system.keyed:
        raise click.UsageError(f"--key is for keyed models (stego-keyed-*); {system.name} is not keyed")


def _keyed_model(path) -> bool:
    from .checkpoint import read_info

    try:
        return read_info(path).get("keyed") is True
    except Exception:  # noqa: BLE001 - a missing/broken model fails with its own message later
        return False


def _send_options(f):
    opts = [
        click.option("--host", type=click.Path(dir_okay=False), default=None, help="Host image (default: skimage cat)."),
        click.option("--private", type=click.Path(dir_okay=False), default=None,
                     help="Private image (default: skimage astronaut portrait)."),
        click.option("--snr-bob", default=10.0, show_default=True, help="Bob's Es/N0 (dB)."),
        click.option("--snr-eve", default=5.0, show_default=True, help="Eve's Es/N0 (dB)."),
        click.option("--insecure", is_flag=True, help="Plain DeepJSCC (no steganography) for comparison."),
        click.option("--mia-steps", type=click.IntRange(min=0), default=200, show_default=True,
                     help="Eve's model inversion steps (0: skip)."),
        click.option("--size", type=click.IntRange(4, 4096), default=256, show_default=True,
                     help="Images are resized to SIZE x SIZE px."),
        click.option("--seed", default=0, show_default=True),
        click.option("--model", default="stego-l3_2", show_default=True,
                     help="Shipped steganography model: stego-l3_2, _4, _8 or _16 (models/)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@cli.command("send")
@click.option("--out", default="out/send", show_default=True, type=click.Path(), callback=_writable_folder)
@_send_options
@_model_options
def send_cmd(out, **kw):
    """One offline transmission of a host/private pair to Bob and Eve."""
    _send(out=out, **kw)


# --- GNU Radio commands (GNU Radio is imported inside them only) ------------------------------------
def _check_attacker(ctx, param, value):
    from . import eves

    if value is None:
        return None
    try:
        eves.get(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


def _attacker_option(f):
    return click.option(
        "--attacker", default=None, callback=_check_attacker,
        help="Eve's attacker besides naive decoding: mia, inversion, glassbox, chosen, surrogate, detect (or naive: "
             "naive decoding only; see gr_stegsem/eves/); default mia (demo with a keyed model: glassbox, Eve "
             "with every shipped file but no key). Trained attackers attack the scheme of --model / "
             "--inn-model and read their model from its folder (zmq/replay eve: the --jscc-model's folder).")(f)


_screenshot_option = click.option(
    "--screenshot", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="With --gui: save the window as a PNG when it stops (e.g. headless, QT_QPA_PLATFORM=offscreen).")


def _gnuradio():
    """gr_stegsem.flowgraphs, after checking that GNU Radio can be imported."""
    try:
        from gnuradio import gr  # noqa: F401
    except ImportError as e:
        raise click.ClickException(f"GNU Radio is not importable ({e}); 'stegsem send' runs the offline path "
                                   "without it") from None
    from . import flowgraphs

    return flowgraphs


def _demo_public_key(scheme, jscc, key_file, size, images, out) -> str:
    """The demo's DeepJSCEC public key: Bob's --key's, for frames of ``size`` px (0: the largest of
    ``images``), in OUT (Alice's file)."""
    if not key_file:
        raise click.UsageError(f"scheme {scheme} decrypts with Bob's key: give it with --key FILE ('stegsem keygen FILE')")
    from . import lwe, schemes
    from .flowgraphs import largest_side, models_folder

    side = int(size) if int(size) > 0 else largest_side(images)
    try:
        params = schemes.load(scheme, models_folder(jscc) or None).params
        pk = lwe.SecretKey(_key(key_file), params).public(4 * math.ceil(max(side, 4) / 4) ** 2)
        path = Path(out) / "lwe-public.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        lwe.write_public(path, pk)
    except (ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None
    return str(path)


@cli.command("demo")
@click.option("--out", default="out/demo", show_default=True, type=click.Path(path_type=Path),
              callback=_writable_folder)
@_send_options
@_model_options
@click.option("--timeout", default=1800.0, show_default=True, help="Stop the flowgraph after this many seconds.")
@click.option("--scheme", default="", help="Seed 004's defences instead of the INN: dp-<ε>, shuffle, shuffle-static "
              "(the shuffles need --key); issue 13's digital schemes lbvq-16, lbvq-16-hard, jscec-n512 (the private "
              "image only, models from --jscc-model's folder; jscec: --key is Bob's key, Alice's public key is "
              "written from it to OUT/lwe-public.safetensors).")
@_attacker_option
@click.option("--gui", is_flag=True, help="Open flowgraphs/sim_radio_gui.py instead: the link through the OFDM PHY "
              "and impaired channels in a Qt window (Bob's and Eve's images with PSNR / MS-SSIM, their symbols, "
              "the spectrum); Alice repeats the pair every second until the window is closed or --timeout.")
@_screenshot_option
def demo_cmd(out, host, private, snr_bob, snr_eve, insecure, mia_steps, size, seed, model, jscc_model, inn_model,
             key_file, timeout, scheme, attacker, gui, screenshot):
    """The main job: the GNU Radio flowgraph sim_awgn, headless, on the default images.

    Alice (DeepJSCC + INN, shipped models) sends over simulated AWGN channels to Bob (10 dB) and
    Eve (5 dB); writes OUT/grid.png (host, private, Bob's two images, Eve naive, Eve's --attacker),
    OUT/metrics.md (with the detector's verdict for --attacker detect) and the flowgraph's image
    sinks' PNGs under OUT/frames/. With --gui: sim_radio_gui, live in a Qt window (the sinks' PNGs
    under OUT/frames/ too).
    """
    if screenshot and not gui:
        raise click.UsageError("--screenshot is for --gui")
    if gui and scheme:
        raise click.UsageError("--scheme is for the sim_awgn demo; --gui runs sim_radio (INN schemes: --model)")
    fgs = _gnuradio()
    from .pipeline import write_report

    jscc, inn = _model_paths(model, jscc_model, inn_model)
    from .blocks.defences import link_transform
    from .blocks.digital import digital_kind

    switch = link_transform(scheme)
    digital = digital_kind(scheme)
    if scheme and not switch and not digital:
        raise click.BadParameter(f"{scheme!r} is not one of dp-<ε>, shuffle, shuffle-static, lbvq-*, jscec-* (INN "
                                 "schemes: --model)", param_hint="--scheme")
    if switch == "shuffle" and not key_file:
        raise click.UsageError(f"scheme {scheme} shuffles with a key: give it with --key FILE ('stegsem keygen FILE')")
    public_key = ""
    if digital == "jscec":
        public_key = _demo_public_key(scheme, jscc, key_file, size, (host or "", private or ""), out)
    switch = switch or digital
    keyed = not insecure and not switch and _keyed_model(inn)
    if keyed != bool(key_file) and not insecure and not switch:
        raise click.UsageError(f"model {Path(inn).stem} is keyed: give the key with --key FILE ('stegsem keygen "
                               "FILE')" if keyed else f"--key is for keyed models; {Path(inn).stem} is not keyed")
    if attacker is None:  # against a keyed model, show the Eve that has every shipped file but not the key
        attacker = "glassbox" if keyed else "mia"
    eve = f"MIA {mia_steps} steps" if attacker == "mia" else f"Eve's attacker {attacker}"
    what = scheme or ("plain DeepJSCC" if insecure else Path(inn).stem)
    if gui:
        click.echo(f"opening flowgraphs/sim_radio_gui.py: Bob at {snr_bob:g} dB, Eve at {snr_eve:g} dB (data Es/N0), "
                   f"{what}, {size}x{size} px, {eve}; close the window to stop")
        tb = fgs.build("sim_radio_gui", host=host or "", private=private or "", size=size, snr_bob=snr_bob,
                       snr_eve=snr_eve, jscc_model=jscc, inn_model=inn, secure=0 if insecure else 1,
                       mia_steps=mia_steps, attacker=attacker, out=str(out / "frames"), seed=seed,
                       key=key_file if keyed else "", view_side=size if size <= 256 else 256)
        res = fgs.run_gui(tb, timeout=timeout, screenshot=screenshot)
        if res.signal is not None:
            raise fgs.Stopped(res.signal)
        n = len(res.records.get("bob_private_sink", []))
        shot = f"; wrote {screenshot}" if screenshot and not res.finished else ""
        click.echo(f"sim_radio_gui ran {res.seconds:.1f} s: Bob decoded {n} frames (sink PNGs in "
                   f"{out / 'frames'}){shot}")
        return
    click.echo(f"running flowgraphs/sim_awgn.py: Bob at {snr_bob:g} dB, Eve at {snr_eve:g} dB, "
               f"{what}, {size}x{size} px, {eve}")
    res = fgs.run_sim(timeout=timeout, host=host or "", private=private or "", size=size, snr_bob=snr_bob,
                      snr_eve=snr_eve, jscc_model=jscc, inn_model=inn, secure=0 if insecure else 1,
                      mia_steps=mia_steps, attacker=attacker, out=str(out / "frames"), seed=seed,
                      key=key_file if keyed or switch in ("shuffle", "jscec") else "", scheme=scheme,
                      public_key=public_key)
    report = fgs.sim_report(res, snr_bob, snr_eve, attacker=attacker)
    if "bob/private" not in report["images"]:
        raise click.ClickException(f"the flowgraph ended after {res.seconds:.1f} s without Bob's image; "
                                   "see the log above")
    xh, xp = fgs.sent_image(host, "host", size), fgs.sent_image(private, "private", size)
    title = (f"{what} over GNU Radio (sim_awgn): "
             f"Bob at {snr_bob:g} dB, Eve at {snr_eve:g} dB")
    from .pipeline import plain_reference

    ref = plain_reference(jscc, xh, xp, snr_bob, seed) if "bob/private" in report["images"] else None
    grid = write_report(report, xh, xp, out, title, reference=ref)
    if report["scores"]:
        with open(out / "metrics.md", "a") as fh:
            fh.write("".join(f"\n{_verdict(r)}\n" for r in report["scores"]))
    click.echo((out / "metrics.md").read_text())
    if not host or not private:
        click.echo("note: the embedded default images (scikit-image's astronaut as the private image, its cat as "
                   "the host) are outside the training data (128 px faces and pet photos) and full of fine detail: "
                   "compare Bob's numbers with plain DeepJSCC's on them above, not with the README's test-face tables")
    click.echo(f"wrote {grid} and {out / 'metrics.md'} (flowgraph ran {res.seconds:.1f} s; sink PNGs in {out / 'frames'})")


@cli.command("zmq")
@click.argument("role", type=click.Choice(["alice", "bob", "eve"]))
@_send_options
@_model_options
@click.option("--out", default=None, type=click.Path(), help="Output folder (default: out/zmq_ROLE).")
@click.option("--address", default=None, callback=_zmq_address,
              help="Alice's sample PUB: Alice binds it, Bob and Eve connect (default tcp://127.0.0.1:5555).")
@click.option("--publish", default=None, callback=_zmq_address,
              help="Bob's/Eve's PUB for decoded images (default tcp://127.0.0.1:5556 Bob, :5557 Eve).")
@click.option("--interval", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Alice: seconds between image pairs.")
@click.option("--once", is_flag=True, help="Alice: send the pair once and exit (late receivers miss it).")
@click.option("--count", type=click.IntRange(min=0), default=0, show_default=True,
              help="Bob/Eve: exit after COUNT images (0: no limit).")
@click.option("--timeout", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Exit after this many seconds (0: until Ctrl-C).")
@click.option("--record", default="", type=click.Path(dir_okay=False),
              help="Bob/Eve: SigMF recording of what the receiver hears (replay it with 'stegsem replay').")
@_attacker_option
@click.option("--gui", is_flag=True, help="Bob/Eve: open flowgraphs/zmq_bob_gui|zmq_eve_gui.py instead, the same "
              "receiver in a Qt window (its decoded images with PSNR / MS-SSIM at --size px, at most 256; its "
              "equalised symbols, the spectrum, waterfall and waveform of what it hears) until the window is closed.")
@_screenshot_option
def zmq_cmd(role, host, private, snr_bob, snr_eve, insecure, mia_steps, size, seed, model, jscc_model, inn_model,
            key_file, out, address, publish, interval, once, count, timeout, record, attacker, gui, screenshot):
    """Run one end of the ZeroMQ link: flowgraphs/zmq_alice|zmq_bob|zmq_eve.py.

    Alice publishes the OFDM PHY's burst samples and repeats the pair every --interval seconds; Bob
    and Eve subscribe, pass them through their own impaired channel (noise at their SNR, CFO, clock
    offset, multipath), synchronise, decode, save PNGs in --out and publish the images (see 'stegsem
    watch'). Start them in any order: a receiver decodes from the next whole burst on. With --gui
    Bob or Eve shows what it gets live in a Qt window (zmq_bob_gui / zmq_eve_gui).
    """
    if record and role == "alice":
        raise click.UsageError("--record is for the receivers (bob, eve); record Alice with usrp_alice or sim_radio")
    if gui and role == "alice":
        raise click.UsageError("--gui is for the receivers (bob, eve); Alice has no window")
    if screenshot and not gui:
        raise click.UsageError("--screenshot is for --gui")
    fgs = _gnuradio()
    jscc, inn = _model_paths(model, jscc_model, inn_model)
    params = {"jscc_model": jscc, "host": host or "", "private": private or "", "address": address or fgs.ZMQ_SAMPLES}
    if role in ("alice", "bob") and not insecure and _keyed_model(inn) != bool(key_file):
        raise click.UsageError(f"model {Path(inn).stem} is keyed: give the key with --key FILE" if key_file == ""
                               else f"--key is for keyed models; {Path(inn).stem} is not keyed")
    if role == "eve" and key_file:
        raise click.UsageError("Eve has no key (--key is for Alice and Bob)")
    if attacker is None:
        attacker = "mia"
    if role == "alice":
        params.update(inn_model=inn, size=size, secure=0 if insecure else 1, loop=0 if once else 1,
                      interval=interval, key=key_file)
    elif role == "bob":
        params.update(inn_model=inn, snr_bob=snr_bob, secure=0 if insecure else 1, out=out or "out/zmq_bob",
                      publish=publish or fgs.ZMQ_BOB, seed=seed, record=record, key=key_file)
    else:
        params.update(snr_eve=snr_eve, mia_steps=mia_steps, out=out or "out/zmq_eve", publish=publish or fgs.ZMQ_EVE,
                      seed=seed, record=record, attacker=attacker, scheme=fgs.eve_scheme(inn))
    name = f"zmq_{role}_gui" if gui else f"zmq_{role}"
    if gui:
        params.update(view_side=min(size, 256), out=out or f"out/{name}")
    tb = fgs.build(name, **params)
    seen = {"n": 0}
    report = _sink_reporter(role)

    def progress(tb):
        if role == "alice":
            n = tb.alice.embed.n_out
            for i in range(seen["n"], n):
                click.echo(f"alice: sent frame {i} on {params['address']}")
            seen["n"] = max(seen["n"], n)
            return False
        return bool(count) and report(tb) >= count

    where = (f"publishing on {params['address']}" if role == "alice" else
             f"listening on {params['address']}, images published on {params['publish']}")
    until = ("sends once, then exits" if role == "alice" and once else
             "in a Qt window, until it is closed or Ctrl-C" if gui else "until Ctrl-C")
    click.echo(f"{role}: {where} ({until if not timeout else f'for up to {timeout:g} s'})")
    if gui:
        res = fgs.run_gui(tb, timeout=timeout or None, until=progress, screenshot=screenshot, poll=0.1)
    else:
        res = fgs.run(tb, timeout=timeout or None, until=progress, poll=0.1)
    if res.signal is not None:
        progress(tb)
        raise fgs.Stopped(res.signal)
    progress(tb)
    if gui:
        shot = f"; wrote {screenshot}" if screenshot and not res.finished else ""
        click.echo(f"{role}: {'window closed' if res.finished else 'stopped'} after {res.seconds:.1f} s{shot}")
        return
    click.echo(f"{role}: {'finished' if res.finished else 'stopped'} after {res.seconds:.1f} s")


def _verdict(r: dict) -> str:
    """One line for a score sink record (a detecting Eve's verdict on one frame)."""
    return (f"eve/{r['attack'] or 'detect'}: frame {r['frame_id']} score {r['score']:.4f} (threshold "
            f"{r['threshold']:g}): {'an image is hidden' if r['decision'] else 'nothing hidden'}")


def _sink_reporter(role: str):
    """A function tb -> images (and detector verdicts) so far that prints one line per new record of
    the role's sinks."""
    sinks = (("bob_host_sink", "bob_private_sink") if role == "bob" else
             ("eve_naive_sink", "eve_mia_sink", "eve_attack_sink", "eve_score_sink"))
    seen: dict[str, int] = {}

    def report(tb) -> int:
        n = 0
        for sink in sinks:
            recs = list(getattr(tb, sink).records)
            for r in recs[seen.get(sink, 0):]:
                if "score" in r:
                    click.echo(f"{role}: {_verdict(r)}")
                    continue
                m = f", PSNR {r['psnr']:.2f} dB, LPIPS {r['lpips']:.3f}" if "psnr" in r else ""
                click.echo(f"{role}: frame {r['frame_id']} {Path(r['path']).stem.rsplit('_', 1)[0]}{m} -> {r['path']}")
            seen[sink] = len(recs)
            n += len(recs)
        return n

    return report


@cli.command("replay")
@click.argument("role", type=click.Choice(["bob", "eve"]))
@click.argument("recording", type=click.Path(dir_okay=False))
@_model_options
@click.option("--model", default="stego-l3_2", show_default=True,
              help="Shipped steganography model (Bob; Eve: the scheme of her --attacker): stego-l3_2, _4, _8 or _16.")
@click.option("--host", default=None, type=click.Path(dir_okay=False), help="Host image the metrics compare with.")
@click.option("--private", default=None, type=click.Path(dir_okay=False), help="Private image for the metrics.")
@click.option("--insecure", is_flag=True, help="Bob: the recording carries plain DeepJSCC (no INN).")
@click.option("--mia-steps", type=click.IntRange(min=0), default=200, show_default=True,
              help="Eve: model inversion steps (0: off).")
@click.option("--equalizer", type=click.Choice(["ummse", "mmse", "zf"]), default="ummse", show_default=True,
              help="PHY equaliser: LMMSE scaled to unit mean gain, LMMSE, or zero forcing.")
@click.option("--amplitude", default=1.0, show_default=True, help="The transmitter's scale (usrp_alice: 0.25).")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", default=None, type=click.Path(), help="Output folder (default: out/replay_ROLE).")
@click.option("--timeout", default=600.0, show_default=True, help="Give up after this many seconds.")
@_attacker_option
def replay_cmd(role, recording, jscc_model, inn_model, key_file, model, host, private, insecure, mia_steps,
               equalizer, amplitude, seed, out, timeout, attacker):
    """Decode a SigMF IQ recording as Bob or Eve (flowgraphs/replay_bob|replay_eve.py).

    Recordings come from the 'record' parameter of sim_radio, usrp_* and 'stegsem zmq bob|eve
    --record'. The receive side is deterministic: the same recording gives the same images.
    """
    fgs = _gnuradio()
    jscc, inn = _model_paths(model, jscc_model, inn_model)
    attacker = attacker or "mia"
    params = {"recording": recording, "jscc_model": jscc, "host": host or "", "private": private or "",
              "equalizer": equalizer, "amplitude": amplitude, "seed": seed, "out": out or f"out/replay_{role}"}
    if role == "bob" and not insecure and _keyed_model(inn) != bool(key_file):
        raise click.UsageError(f"model {Path(inn).stem} is keyed: give the key with --key FILE" if key_file == ""
                               else f"--key is for keyed models; {Path(inn).stem} is not keyed")
    if role == "eve" and key_file:
        raise click.UsageError("Eve has no key (--key is for Bob)")
    if role == "bob":
        params.update(inn_model=inn, secure=0 if insecure else 1, key=key_file)
    else:
        params.update(mia_steps=mia_steps, attacker=attacker, scheme=fgs.eve_scheme(inn))
    try:
        tb = fgs.build(f"replay_{role}", **params)
    except (ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None
    report = _sink_reporter(role)

    def progress(tb) -> bool:  # print new images as they come; the replay ends with the recording
        report(tb)
        return False

    res = fgs.run(tb, timeout=timeout, until=progress, poll=0.2)
    if res.signal is not None:
        raise fgs.Stopped(res.signal)
    n = report(tb)
    if not res.finished:
        raise click.ClickException(f"the replay did not end within {timeout:g} s ({n} images so far)")
    click.echo(f"{role}: {n} images from {recording} in {res.seconds:.1f} s -> {params['out']}")


@cli.command("watch")
@click.argument("address", callback=_zmq_address)
@click.option("--out", default="out/watch", show_default=True, type=click.Path())
@click.option("--count", type=click.IntRange(min=0), default=0, show_default=True,
              help="Exit after COUNT images (0: no limit).")
@click.option("--timeout", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Exit after this many seconds (0: no limit).")
def watch_cmd(address, out, count, timeout):
    """Receive the image PDUs a flowgraph publishes on ADDRESS (e.g. Bob's tcp://127.0.0.1:5556).

    A plain ZeroMQ SUB client (pyzmq + pmt, no GNU Radio flowgraph): saves each image as a PNG in
    --out and prints one line per image (frame id, role, size).
    """
    from .watch import watch

    click.echo(f"watching {address} (images to {out})")
    try:
        got = watch(address, out, count=count, timeout=timeout, on_image=lambda r: click.echo(r.line()),
                    on_error=lambda m: click.echo(f"watch: {m}", err=True))
    except KeyboardInterrupt:
        return
    if count and len(got) < count:
        raise click.ClickException(f"received {len(got)} of {count} images within {timeout:g} s from {address}")
    click.echo(f"received {len(got)} images")


def main(argv=None) -> int:
    """Entry point: errors become one readable line and a non-zero exit."""
    try:
        cli.main(args=argv, prog_name="stegsem", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:  # usage errors too: one line, with where to look
        hint = ""
        if isinstance(e, click.UsageError) and e.ctx is not None:
            hint = f" (see '{e.ctx.command_path} --help')"
        click.echo(f"stegsem: error: {e.format_message()}{hint}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except (ValueError, FileNotFoundError, CheckpointError, OSError) as e:
        click.echo(f"stegsem: error: {e}", err=True)
        return 2
    except Exception as e:  # a flowgraph stopped by SIGINT / SIGTERM: one line, 128 + the signal
        from .flowgraphs import Stopped

        if not isinstance(e, Stopped):
            raise
        click.echo(f"stegsem: {e}", err=True)
        return 128 + e.signum
    return 0


def entry() -> int:
    """The console script: :func:`main`, then, when a GNU Radio flowgraph ran in this process (and was
    stopped and waited for), leave without Python's finalisation, whose teardown of GNU Radio's
    blocks and scheduler threads aborted the process (C++ terminate, SIGSEGV) on Ctrl-C and at
    --timeout."""
    code = main()
    fgs = sys.modules.get("gr_stegsem.flowgraphs")
    if fgs is not None and getattr(fgs, "RAN_FLOWGRAPH", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
