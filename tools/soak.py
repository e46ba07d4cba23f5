"""Soak benchmark: many frames through sim_awgn, or through the ZeroMQ trio at an offered rate.

Reports frames sent / decoded / dropped (by reason, from the runs' own summaries and logs), the
receiving process's resident memory 5 s in, at its peak and at the end (sampled from /proc every
0.2 s) and every
process's exit code, as JSON (--out) and one markdown table row per run.

  .venv/bin/python tools/soak.py sim --frames 1000 [--size 64]
  .venv/bin/python tools/soak.py zmq --frames 300 --interval 0.5 [--size 64]

sim: an image folder of --frames copies of the embedded pair through flowgraphs/sim_awgn.py (paced:
at most 4 frames in flight), its exit code and its loss summary line. zmq: 'stegsem zmq bob' and
'stegsem zmq eve' (naive decoding only), then 'stegsem zmq alice' repeating the pair every --interval
s for --frames frames; then SIGINT to all three (each should exit 130).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def rss_mb(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """RSS of one process: first, peak and last sample (MB)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], False

    def run(self):
        while not self.stop:
            v = rss_mb(self.pid)
            if v is None:
                break
            self.samples.append(v)
            time.sleep(0.2)

    def summary(self) -> dict:
        """'start' is the sample 5 s in (the models loaded), peak and end over the whole run."""
        s = self.samples or [float("nan")]
        return {"rss_start_mb": round(s[min(25, len(s) - 1)], 1), "rss_peak_mb": round(max(s), 1),
                "rss_end_mb": round(s[-1], 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def image_folder(n: int, size: int, root: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from gr_stegsem.images import save_image
    from gr_stegsem.samples import default_image

    dirs = []
    for role in ("host", "private"):
        d = root / role
        d.mkdir(parents=True, exist_ok=True)
        img = default_image(role, size)
        for i in range(n):
            save_image(img, d / f"{i:05d}.png")
        dirs.append(d)
    return dirs[0], dirs[1]


def soak_sim(a) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        host, private = image_folder(a.frames, a.size, Path(tmp))
        cmd = [PY, str(ROOT / "flowgraphs" / "sim_awgn.py"), "--host", str(host), "--private", str(private),
               "--size", str(a.size), "--mia-steps", "0", "--attacker", "naive", "--out", str(Path(tmp) / "out")]
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,  # read as it runs
                             env=dict(os.environ, OMP_NUM_THREADS="1"))
        smp = Sampler(p.pid)
        smp.start()
        out, _ = p.communicate()
        smp.stop = True
        secs = time.monotonic() - t0
    m = re.search(r"sim_awgn: (\d+) of (\d+) frames decoded by Bob(.*)", out)
    decoded, offered = (int(m.group(1)), int(m.group(2))) if m else (None, a.frames)
    return {"run": "sim_awgn", "frames": a.frames, "size": a.size, "offered_rate_fps": None, "sent": offered,
            "decoded_bob": decoded, "dropped": (offered - decoded) if decoded is not None else None,
            "why": (m.group(3).strip(" -") if m else out[-300:]), "seconds": round(secs, 1),
            "exit_codes": {"sim_awgn": p.returncode}, **smp.summary()}


def soak_zmq(a) -> dict:
    addr, bob_pub, eve_pub = (f"tcp://127.0.0.1:{free_port()}" for _ in range(3))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    base = [PY, "-m", "gr_stegsem", "--threads", "1", "zmq"]
    with tempfile.TemporaryDirectory() as tmp:
        # each process logs to a file: a pipe read only at the end fills up (64 KiB, ~280 frames of
        # log lines) and then blocks the receiver's logging and with it its whole flowgraph
        logs = {who: open(Path(tmp) / f"{who}.log", "w+") for who in ("alice", "bob", "eve")}
        rx = {who: subprocess.Popen(base + [who, "--size", str(a.size), "--address", addr, "--publish", pub,
                                            "--out", str(Path(tmp) / who)] + (["--attacker", "naive"] if who == "eve"
                                                                              else []),
                                    stdout=logs[who], stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
              for who, pub in (("bob", bob_pub), ("eve", eve_pub))}
        smp = Sampler(rx["bob"].pid)
        smp.start()
        time.sleep(5.0)  # the receivers load their models and subscribe
        alice = subprocess.Popen(base + ["alice", "--size", str(a.size), "--address", addr, "--interval",
                                         str(a.interval), "--timeout", str((a.frames - 0.5) * a.interval)],
                                 stdout=logs["alice"], stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
        alice.wait()
        time.sleep(a.drain)  # what is still queued at the receivers gets this long
        for p in rx.values():
            p.send_signal(signal.SIGINT)
        for p in rx.values():
            p.wait(timeout=120)
        smp.stop = True
        texts = {}
        for who, f in logs.items():
            f.seek(0)
            texts[who] = f.read()
            f.close()
    a_out, outs = texts.pop("alice"), texts
    sent = len(re.findall(r"alice: sent frame", a_out))
    ids = {who: {int(i) for i in re.findall(r"stegsem_image_sink (?:bob_private|eve_naive) :info: frame (\d+)", o)}
           for who, o in outs.items()}
    got = {who: len(v) for who, v in ids.items()}
    drops = {who: block_drops(t) for who, t in (("alice", a_out), *outs.items())}
    unread = re.findall(r"stopped with (\d+) samples not yet processed", outs["bob"])
    gone = re.findall(r"stegsem_image_sink bob_private :info: \d+ frames received, (\d+) frame ids never arrived",
                      outs["bob"])
    return {"run": "zmq trio", "frames": a.frames, "size": a.size, "offered_rate_fps": round(1 / a.interval, 2),
            "sent": sent, "decoded_bob": got["bob"], "decoded_eve": got["eve"], "dropped": sent - got["bob"],
            "why": "; ".join(f"{b}: {n} ({o} overload)" for b, (n, o, _) in drops["bob"].items()),
            "dropped_by_block": {who: {b: {"dropped": n, "overload": o, "last": last} for b, (n, o, last) in d.items()}
                                 for who, d in drops.items()},
            "bob_logged_missing": int(gone[-1]) if gone else None,
            "bob_missing_ids": missing_ids(ids["bob"], sent),
            "bob_unread_at_stop": {"samples": int(unread[-1]) if unread else 0,
                                   "frames_approx": round(int(unread[-1]) / frame_samples(a.size), 1) if unread else 0},
            "exit_codes": {"alice": alice.returncode, **{w: p.returncode for w, p in rx.items()}}, **smp.summary()}


def block_drops(log: str) -> dict[str, tuple[int, int, str]]:
    """Each block's stop line 'N PDUs dropped in this run (M for overload); last: ...' of one process's log."""
    return {m.group(1): (int(m.group(2)), int(m.group(3)), m.group(4).strip())
            for m in re.finditer(r"(?m)^(.*?) :warning: (\d+) PDUs dropped in this run \((\d+) for overload\); "
                                 r"last: (.*)$", log)}


def frame_samples(size: int) -> int:
    """Burst samples of one stego frame of size x size px on the PHY (default parameters)."""
    sys.path.insert(0, str(ROOT))
    from gr_stegsem.phy.blocks import frame_samples as of_frame
    from gr_stegsem.phy.ofdm import OfdmParams

    return of_frame(OfdmParams(), size)


def missing_ids(got: set[int], sent: int) -> dict:
    """Ids 0..sent-1 that did not arrive, split into before the first received, between, after the last
    (Alice's frame ids: where her own blocks dropped frames under overload, ids beyond ``sent`` exist)."""
    if not got:
        return {"before_first": sent, "between": 0, "after_last": 0}
    lo, hi = min(got), max(got)
    return {"before_first": lo, "between": sum(1 for i in range(lo, hi) if i not in got),
            "after_last": max(0, sent - 1 - hi)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["sim", "zmq"])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64, help="image side (px)")
    ap.add_argument("--interval", type=float, default=0.5, help="zmq: Alice's seconds between frames")
    ap.add_argument("--drain", type=float, default=10.0, help="zmq: seconds the receivers get after Alice ends")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    res = soak_sim(a) if a.mode == "sim" else soak_zmq(a)
    print(json.dumps(res, indent=1))
    print(f"| {res['run']} | {res['frames']} | {res['size']} | {res['offered_rate_fps'] or 'paced'} | {res['sent']} | "
          f"{res['decoded_bob']} | {res['dropped']} | {res['rss_start_mb']} / {res['rss_peak_mb']} / "
          f"{res['rss_end_mb']} | {res['exit_codes']} |")
    if a.out:
        a.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
