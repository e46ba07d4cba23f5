"""The interface every secure-SemCom scheme implements (kaira-style zoo: one module per paper).

A scheme says what Alice transmits for (host, private[, key, nonce]), what Bob recovers from the
received symbols, and what it publishes: the models an eavesdropper who installs gr-stegsem holds
(Kerckhoffs: every shipped file) and the secrets that stay with Alice and Bob.

Latents are real (B, C, h, w) tensors whose complex symbols (:func:`~gr_stegsem.models.deepjscc.to_complex`)
have mean |z|^2 = 1; images are float (B, 3, H, W) in [0, 1]; SNR is Es/N0 in dB.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .. import channel as _channel
from ..device import CPU, on_model_device, resolve_device
from ..models.deepjscc import DeepJSCC, all_finite, check_images, from_complex, to_complex


def channels_last(t: torch.Tensor) -> torch.Tensor:
    """Channels-last view of a 4-D batch (other shapes pass unchanged, for the callee's checks)."""
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def variant_label(title: str, name: str, prefix: str) -> str:
    """Display name of a model variant: 'Keyed stego (λ3=2)' for title 'Keyed stego', stego-keyed-l3_2."""
    return f"{title} ({name[len(prefix):].replace('l3_', 'λ3=')})"


@dataclass(frozen=True)
class Published:
    """What a scheme makes public: every model an Eve holding gr-stegsem's files has, by role
    (e.g. {'jscc': DeepJSCC, 'inn': StegoINN}), and the names of what stays secret (e.g. ('key',);
    empty when the scheme's security rests on nothing but its weights)."""

    models: dict = field(default_factory=dict)
    secrets: tuple[str, ...] = ()


class Scheme:
    """A transmission scheme over the public DeepJSCC codec ``jscc``.

    Subclasses implement :meth:`alice` and :meth:`bob` (and :meth:`published`); the channel and
    the public encoder/decoder are shared. ``carries_host`` is True when Alice sends a host image
    that an eavesdropper is meant to see (steganography); ``secure`` is its historical name.
    """

    name: str = "scheme"
    carries_host: bool = False
    keyed: bool = False  # Alice and Bob need a shared key and a nonce per frame
    jscc: DeepJSCC
    device: torch.device = CPU  # where the models run (set_device); inputs move there, results come back

    def set_device(self, name: str | torch.device = "cpu") -> torch.device:
        """Run the models on 'cpu', 'cuda', 'cuda:N' or 'auto' (:func:`gr_stegsem.device.resolve_device`;
        ValueError for a device this torch cannot use): every model of the scheme (its torch modules
        and those of the schemes it holds, e.g. the public codec) moves there."""
        dev = resolve_device(name)
        for v in list(vars(self).values()):
            if isinstance(v, torch.nn.Module):
                v.to(dev)
            elif isinstance(v, Scheme) and v is not self:
                v.set_device(dev)
        self.device = dev
        return dev

    @property
    def secure(self) -> bool:
        return self.carries_host

    @property
    def label(self) -> str:
        """Display name for tables and figures."""
        from ..report import label

        return label(self.name)

    # --- the public codec (also what every Eve holds) -----------------------------------------
    @torch.inference_mode()
    @on_model_device
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> power-normalised real latents (B, C, h, w) with the public DeepJSCC encoder."""
        check_images(x)
        return self.jscc.encoder(channels_last(x))

    @torch.inference_mode()
    @on_model_device
    def decode(self, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Real latents -> images with the public DeepJSCC decoder, cropped to ``size`` (H, W)."""
        return self.decode_with(self.jscc, z, size)

    @staticmethod
    def decode_with(codec: DeepJSCC, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Real latents -> images with ``codec``'s decoder (the public one, a quantized copy, a keyed
        model's Bob decoder); symbols that are not finite are refused."""
        if not all_finite(z):
            raise ValueError("received symbols contain NaN or Inf values")
        return codec.decode(channels_last(z), size).contiguous()

    @staticmethod
    def channel(z: torch.Tensor, snr_db: float, kind: str = "awgn",
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Real latent -> channel (symbols, Es/N0 = snr_db) -> received real latent. The noise is drawn
        and added on the CPU (``generator``: a CPU generator) whatever the latent's device, and the
        result moved back to it: the same noise on every device."""
        y = _channel.apply(to_complex(z).cpu(), snr_db, kind, generator).to(z.device)
        return from_complex(y, tuple(z.shape[1:]))

    # --- what each scheme defines ---------------------------------------------------------------
    def alice(self, host: torch.Tensor | None, private: torch.Tensor, key=None, nonce=None) -> torch.Tensor:
        """The transmitted latent (B, C, h, w), mean |z|^2 = 1, for a batch of (host, private) images."""
        raise NotImplementedError

    def bob(self, y: torch.Tensor, size: tuple[int, int] | None = None, lost: str | None = None,
            generator: torch.Generator | None = None, key=None, nonce=None) -> dict[str, torch.Tensor]:
        """Bob's reconstructions from the received latent: {'private'[, 'host']}."""
        raise NotImplementedError

    def published(self) -> Published:
        """The models and secrets of this scheme (see :class:`Published`)."""
        return Published({"jscc": self.jscc})

    def bob_without_secrets(self, y: torch.Tensor, size: tuple[int, int] | None = None, lost: str | None = None,
                            generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Bob's receiver as run by an Eve holding every published model but none of the secrets
        (the glass-box Eve). A scheme with secrets overrides this with her best guess (e.g. a random key)."""
        if self.published().secrets:
            raise NotImplementedError(f"scheme {self.name} keeps {self.published().secrets} secret but does not "
                                      "say how an Eve without them decodes")
        return self.bob(y, size, lost, generator)

    def transmitter(self, key=None, nonce: int = 0):
        """Alice as a device: a callable (host, private) -> transmitted latent that numbers its frames
        nonce, nonce + 1, ... under ``key`` (a scheme without a key ignores both). What an Eve who
        captured a transmitter queries: she sees its outputs, never its key."""
        state = {"next": nonce}

        def tx(host, private):
            n = state["next"]
            state["next"] += private.shape[0]
            return self.alice(host, private, key=key, nonce=n)

        return tx

    @property
    def is_plain(self) -> bool:
        """True for plain DeepJSCC itself (nothing to detect against it)."""
        return False

    def plain_equivalent(self, host: torch.Tensor | None, private: torch.Tensor) -> torch.Tensor:
        """What plain DeepJSCC would send in this scheme's place: the host's symbols (a scheme that
        carries a host, :meth:`cover`) or the private image's. A steganalyst or a detector of the
        scheme's signature tells :meth:`alice`'s output apart from this."""
        return self.cover(host) if self.carries_host else self.encode(private)

    def cover(self, host: torch.Tensor) -> torch.Tensor:
        """What the link carries when nothing is hidden: the host alone, plain DeepJSCC. A
        steganalyst tells :meth:`alice`'s output apart from this."""
        return self.encode(host)
