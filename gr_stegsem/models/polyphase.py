"""A strided transposed convolution as one convolution of its output phases, then a pixel shuffle.

The same function (each output sample sums the same products; float rounding may differ, ~1e-6), in a
form oneDNN runs faster for few output channels: used by the decoder's float32 last layer on the bf16
inference path (gr_stegsem.models.deepjscc) and by the int8 path (gr_stegsem.precision) around its
quantized convolutions.
"""
from __future__ import annotations

import torch
from torch import nn


def phase_taps(k: int, s: int, p: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """One axis of a transposed convolution (kernel k, stride s, padding p) split into its s output phases:
    output s*m + a = sum over (j, t) of input[m + j] * w[t]; per phase a: (a, _, [(j, t), ...])."""
    out = []
    for a in range(s):
        r, q0 = (a + p) % s, (a + p) // s
        out.append((a, q0, [(q0 - d, s * d + r) for d in range(k) if s * d + r < k]))
    return out


def polyphase_conv(m: nn.ConvTranspose2d) -> tuple[nn.Conv2d, int]:
    """A strided ConvTranspose2d as one Conv2d with stride**2 times the output channels (its output phases,
    channel c * s * s + a_h * s + a_w, for F.pixel_shuffle) and the stride: the same function, cropped."""
    (kh, kw), (sh, sw), (ph, pw) = m.kernel_size, m.stride, m.padding
    if sh != sw:
        raise ValueError("polyphase form needs equal strides")
    s = sh
    taps_h, taps_w = phase_taps(kh, s, ph), phase_taps(kw, s, pw)
    jh = [j for _, _, t in taps_h for j, _ in t]
    jw = [j for _, _, t in taps_w for j, _ in t]
    lo_h, hi_h, lo_w, hi_w = min(jh), max(jh), min(jw), max(jw)
    cin, cout = m.in_channels, m.out_channels
    w = m.weight.detach().float()  # (cin, cout, kh, kw)
    wc = torch.zeros(cout * s * s, cin, hi_h - lo_h + 1, hi_w - lo_w + 1)
    for ah, _, th in taps_h:
        for aw, _, tw in taps_w:
            for j1, t1 in th:
                for j2, t2 in tw:
                    wc[ah * s + aw::s * s, :, j1 - lo_h, j2 - lo_w] = w[:, :, t1, t2].t()
    # input offsets lo..hi: pad -lo before (and hi after) so that output m reads inputs m + lo .. m + hi
    conv = nn.Conv2d(cin, cout * s * s, wc.shape[-2:], 1, 0, bias=m.bias is not None)
    conv.pad = (max(0, -lo_w), max(0, hi_w), max(0, -lo_h), max(0, hi_h))  # F.pad order: w then h
    with torch.no_grad():
        conv.weight.copy_(wc)
        if m.bias is not None:
            conv.bias.copy_(m.bias.detach().float().repeat_interleave(s * s))
    return conv, s


class Polyphase(nn.Module):
    """A strided transposed convolution run as a convolution of its output phases (``make`` wraps it,
    e.g. as a quantized one; default: float32, channels-last), then interleaved (pixel shuffle) and
    cropped to the transposed convolution's output size. A copy: built from the weights at that time."""

    def __init__(self, m: nn.ConvTranspose2d, make=None):
        super().__init__()
        conv, self.stride = polyphase_conv(m)
        self.pad = conv.pad
        self.conv = make(conv) if make is not None else conv.to(memory_format=torch.channels_last)
        self.k, self.p, self.op = m.kernel_size, m.padding, m.output_padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stride
        h, w = x.shape[-2:]
        oh = (h - 1) * s - 2 * self.p[0] + self.k[0] + self.op[0]
        ow = (w - 1) * s - 2 * self.p[1] + self.k[1] + self.op[1]
        l, r, t, b = self.pad
        r, b = r + max(0, -(-ow // s) - w), b + max(0, -(-oh // s) - h)  # phases past the input's end
        y = torch.nn.functional.pixel_shuffle(self.conv(torch.nn.functional.pad(x, (l, r, t, b))), s)
        return y[..., :oh, :ow].contiguous(memory_format=torch.channels_last)
