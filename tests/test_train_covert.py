"""The covert INN's pool of restarted steganalysers (gr_stegsem/train/covert.py)."""
from __future__ import annotations

import pytest
import torch

from gr_stegsem.checkpoint import read_info
from gr_stegsem.train.covert import DiscriminatorPool, feature_gap
from tests.test_stego_variants import _train, jscc_dir  # noqa: F401  (the module's fixture)


def _batch(shift: float, n: int = 8):
    g = torch.Generator().manual_seed(int(shift * 100) + n)
    cover = torch.randn(n, 4, 6, 6, generator=g)
    return cover + shift, cover


def test_members_restart_in_turn_and_count_only_once_warm():
    torch.manual_seed(0)
    pool = DiscriminatorPool(channels=4, members=3, life=6, warm=2)
    y, cover = _batch(1.0)
    first = [m.features[0].weight.detach().clone() for m in pool.members]
    seen = []
    for _ in range(8):
        before = [m.features[0].weight.detach().clone() for m in pool.members]
        t = pool.terms(y.requires_grad_(), cover)
        seen.append((int(t["disc_mature"]), pool.ages.tolist()))
        # every member steps each call, so each differs from its start
        assert all(not torch.equal(b, m.features[0].weight) for b, m in zip(before, pool.members))
    # restarts at steps 2 (member 1), 4 (member 2), 6 (member 0): offsets i * life / K
    assert [a for _, a in seen] == [[1, 1, 1], [2, 2, 2], [3, 1, 3], [4, 2, 4], [5, 3, 1], [6, 4, 2],
                                    [1, 5, 3], [2, 6, 4]]
    assert [k for k, _ in seen] == [0, 0, 2, 2, 2, 2, 2, 2]  # members aged >= 2 when called (after restarts)
    assert not any(torch.equal(f, m.features[0].weight) for f, m in zip(first, pool.members))


def test_no_pull_before_warm_then_a_gradient_towards_the_cover():
    torch.manual_seed(1)
    pool = DiscriminatorPool(channels=4, members=2, life=400, warm=60)
    y, cover = _batch(1.0, 16)
    y = y.clone().requires_grad_()
    t = pool.terms(y, cover)
    assert float(t["adv"].detach()) == 0.0 and t["adv"].requires_grad
    (g0,) = torch.autograd.grad(t["adv"], y)
    assert torch.count_nonzero(g0) == 0
    for _ in range(80):  # the members learn to tell y (shifted) from the cover
        t = pool.terms(y, cover)
    assert float(t["disc_acc"]) > 0.9 and int(t["disc_mature"]) == 2
    (g,) = torch.autograd.grad(t["adv"], y)
    # the generator's step -g moves y towards the cover: against the shift on average
    assert float(g.mean()) > 0
    for m in pool.members:  # through frozen weights: nothing reaches the members
        assert all(p.grad is None for p in m.parameters())


def test_feature_matching_pulls_the_containers_statistics_to_the_covers():
    torch.manual_seed(2)
    pool = DiscriminatorPool(channels=4, members=1, life=400, warm=0, objective="features")
    det = pool.members[0]
    cover, same = torch.randn(32, 4, 6, 6), torch.randn(32, 4, 6, 6)
    y = (2.0 * torch.randn(32, 4, 6, 6) + 0.5).requires_grad_()
    start = float(feature_gap(det, y, cover).detach())
    assert start > 5 * float(feature_gap(det, same, cover))
    t = pool.terms(y, cover)  # the member steps, then the INN's term is its gap
    assert torch.allclose(t["adv"], feature_gap(det, y, cover))
    assert all(p.grad is None for p in det.parameters())
    for _ in range(20):  # against a fixed detector, gradient steps on y alone close the gap
        (g,) = torch.autograd.grad(feature_gap(det, y, cover), y)
        with torch.no_grad():
            y -= 0.5 * g / g.norm() * y.norm() * 0.05
    assert float(feature_gap(det, y, cover).detach()) < 0.5 * float(t["adv"].detach())


def test_bad_pool_settings():
    with pytest.raises(ValueError, match="at least one member"):
        DiscriminatorPool(4, members=0)
    with pytest.raises(ValueError, match="warm < life"):
        DiscriminatorPool(4, life=10, warm=10)
    with pytest.raises(ValueError, match="objective"):
        DiscriminatorPool(4, objective="wgan")


def test_covert_training_with_a_pool_checkpoints_and_resumes(jscc_dir, tiny_images):  # noqa: F811
    kw = dict(lambdas=(1, 2, 2, 1, 1), covert=0.1, discriminators=2, disc_life=4, disc_warm=1)
    last = _train(jscc_dir, tiny_images, "stego-covert-pool-t", steps=4, **kw)
    assert {"adv", "disc", "disc_acc", "disc_mature"} <= set(last)
    state = torch.load(jscc_dir / "stego-covert-pool-t.state.pt", weights_only=True)
    assert int(state["model"]["disc.steps"]) == 4 and state["model"]["disc.ages"].tolist() == [4, 2]
    # the INN's optimiser holds the INN's weights only: the pool steps its own
    n_inn = sum(1 for k in state["model"] if k.startswith("inn."))
    assert len(state["optimizer"]["state"]) <= n_inn
    info = read_info(jscc_dir / "stego-covert-pool-t")
    assert info["discriminators"] == {"members": 2, "life_steps": 4, "warm_steps": 1, "lr": 1e-3,
                                     "objective": "gan"}
    assert _train(jscc_dir, tiny_images, "stego-covert-pool-t", steps=6, **kw)["step"] == 6
    state = torch.load(jscc_dir / "stego-covert-pool-t.state.pt", weights_only=True)
    assert int(state["model"]["disc.steps"]) == 6
    with pytest.raises(ValueError, match="adversarial weight"):
        _train(jscc_dir, tiny_images, "z", discriminators=2, steps=1)
    with pytest.raises(ValueError, match="needs a discriminator pool"):
        _train(jscc_dir, tiny_images, "z", covert=0.1, adv_objective="features", steps=1)
    with pytest.raises(ValueError, match=">= 0"):
        _train(jscc_dir, tiny_images, "z", covert=0.1, discriminators=-1, steps=1)
