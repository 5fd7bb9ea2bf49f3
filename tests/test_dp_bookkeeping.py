"""Fast path: book-keeping clipping gives Opacus' per-sample clipped gradient sum."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from privtrain.dp import MLP, BookkeepingClipper, unsupported_reason
from privtrain.dp._models import _opacus


def opacus_clipped_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, clip: float):
    """Opacus hooks mode, noise 0, sum reduction: p.grad after pre_step is the clipped sum."""
    _opacus()
    from opacus import PrivacyEngine

    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=0.0)
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=len(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = PrivacyEngine()
        gsm, dp_opt, _ = engine.make_private(
            module=m,
            optimizer=opt,
            data_loader=dl,
            noise_multiplier=0.0,
            max_grad_norm=clip,
            loss_reduction="sum",
            poisson_sampling=False,
            grad_sample_mode="hooks",
        )
        F.cross_entropy(gsm(x), y, reduction="sum").backward()
        dp_opt.pre_step()
    return {name: p.grad.detach().clone() for name, p in m.named_parameters()}


@pytest.mark.parametrize("hidden", [(32, 16), (64,), ()])
def test_fast_clipped_sum_equals_opacus(hidden: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = MLP(20, 3, hidden)
    x, y = torch.randn(96, 20) * 2, torch.randint(0, 3, (96,))
    _, _, norms = BookkeepingClipper(copy.deepcopy(model), 1.0).clipped_sum(x, y)
    clip = float(norms.median())  # half the samples get clipped, half do not
    clipper = BookkeepingClipper(copy.deepcopy(model), max_grad_norm=clip)
    grads, _, norms = clipper.clipped_sum(x, y)
    assert (norms > clip * 1.01).sum() > 10 and (norms < clip * 0.99).sum() > 10
    ref = opacus_clipped_sum(model, x, y, clip)
    ours = {name: grads[p] for name, p in clipper.model.named_parameters()}
    assert ours.keys() == ref.keys()
    for name in ref:
        torch.testing.assert_close(ours[name], ref[name], atol=1e-5, rtol=1e-5)


def test_physical_batches_accumulate_to_the_same_sum() -> None:
    torch.manual_seed(1)
    model = MLP(10, 2, (16,))
    x, y = torch.randn(50, 10), torch.randint(0, 2, (50,))
    whole = BookkeepingClipper(copy.deepcopy(model), 0.5)
    whole.accumulate(x, y)
    whole.finalize(0.0, 10)
    parts_model = copy.deepcopy(model)
    parts = BookkeepingClipper(parts_model, 0.5)
    for chunk in torch.arange(50).split(7):
        parts.accumulate(x[chunk], y[chunk])
    parts.accumulate(x[:0], y[:0])  # empty physical batch
    parts.finalize(0.0, 10)
    for p, q in zip(whole.model.parameters(), parts_model.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-5)


def test_noise_has_the_dp_sgd_scale() -> None:
    model = MLP(30, 2, (200,))
    clipper = BookkeepingClipper(model, max_grad_norm=2.0)
    g = torch.Generator().manual_seed(0)
    clipper.finalize(noise_multiplier=1.5, expected_batch_size=100, generator=g)  # empty batch
    flat = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert flat.numel() > 6000
    assert flat.std().item() == pytest.approx(1.5 * 2.0 / 100, rel=0.05)
    assert abs(flat.mean().item()) < 0.002


def test_unsupported_models_are_named() -> None:
    class WithBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.bn, self.b = nn.Linear(8, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.bn(self.a(x)))

    class Reused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(self.a(x)))

    class Seq3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.a(x.view(x.shape[0], 2, 4)).mean(1)

    assert unsupported_reason(MLP(8, 2, (4,)), 8) is None
    assert "BatchNorm1d" in unsupported_reason(WithBN(), 8)
    assert "2 times" in unsupported_reason(Reused(), 8)
    assert "3-D" in unsupported_reason(Seq3D(), 8)
    inplace = nn.Sequential(nn.Linear(8, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    assert "in place" in unsupported_reason(inplace, 8)
    tied = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    tied[1].weight = tied[0].weight
    assert "shared" in unsupported_reason(tied, 4)
