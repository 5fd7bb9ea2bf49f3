"""Book-keeping per-sample clipping (Bu et al. 2023, "Differentially private optimization on
large model at small cost") for networks whose parameters all live in ``nn.Linear`` layers
applied to 2-D inputs.

One forward pass keeps each Linear layer's input ``a`` (n x d_in) and output ``z``; one backward
pass (``torch.autograd.grad`` to the outputs only, so autograd skips the weight-gradient
products) gives the output gradients ``b`` (n x d_out) of the *summed* loss, i.e. per-sample
loss gradients. For a 2-D input the per-sample gradient of the weight is the outer product
``b_i a_i^T``, so

    ||g_i||^2 = sum over layers of ||a_i||^2 ||b_i||^2  (weight)  +  ||b_i||^2  (bias)

and, with ``c_i = min(1, C / (||g_i|| + 1e-6))`` (Opacus' flat clipping factor), the clipped sum
is one matmul per layer: ``W_grad = (c * b)^T a`` and ``bias_grad = sum_i c_i b_i``. Gaussian
noise ``N(0, (sigma C)^2)`` (from the CSPRNG of ``_noise``) is then added and the sum divided by
the expected batch size, as Opacus' ``DPOptimizer`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from privtrain.errors import TrainingError

from ._noise import NoiseSource, gaussian

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _sum_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="sum")


def unsupported_reason(model: nn.Module, n_features: int) -> str | None:
    """Why ``model`` cannot use the fast path, or ``None`` if it can.

    Static check: every trainable parameter belongs to an ``nn.Linear`` (directly, not shared).
    Dynamic check (one probe forward on a 2-row zero batch): every Linear with trainable
    parameters runs exactly once, on a 2-D input, and its output is not modified in place.
    """
    owners: dict[int, str] = {}
    for mname, mod in model.named_modules(remove_duplicate=False):
        for pname, p in mod.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            full = f"{mname}.{pname}" if mname else pname
            if not isinstance(mod, nn.Linear):
                return f"parameter {full} is in a {type(mod).__name__}, not an nn.Linear"
            if id(p) in owners:
                return f"parameter {full} is shared with {owners[id(p)]}"
            owners[id(p)] = full
    if not owners:
        return "the model has no trainable parameters"
    calls: dict[nn.Module, list[tuple[int, torch.Tensor, int]]] = {}

    def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        calls.setdefault(mod, []).append((inp[0].dim(), out, out._version))

    linears = [m for m in model.modules() if isinstance(m, nn.Linear) and _trainable(m)]
    handles = [m.register_forward_hook(hook) for m in linears]
    was_training = model.training
    try:
        model.train()
        with torch.enable_grad():
            model(torch.zeros(2, n_features))
    except Exception as e:
        return f"probe forward failed: {type(e).__name__}: {e}"
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for m in linears:
        seen = calls.get(m, [])
        if len(seen) != 1:
            return f"a Linear layer runs {len(seen)} times per forward (needs exactly once)"
        dim, out, version = seen[0]
        if dim != 2:
            return f"a Linear layer gets a {dim}-D input (the fast path needs 2-D)"
        if out._version != version:
            return "a Linear output is modified in place (e.g. ReLU(inplace=True))"
    return None


def _trainable(m: nn.Module) -> bool:
    return any(p.requires_grad for p in m.parameters(recurse=False))


class BookkeepingClipper:
    """Computes clipped per-sample gradient sums for an all-Linear model in one forward and one
    backward pass. Use :func:`unsupported_reason` first.

    ``accumulate(x, y)`` adds the clipped sum of one physical batch into an internal buffer and
    returns the summed loss; ``finalize(...)`` adds noise, divides by the expected batch size,
    writes ``p.grad`` and clears the buffer.
    """

    def __init__(self, model: nn.Module, max_grad_norm: float, loss_fn: LossFn = _sum_ce):
        if max_grad_norm <= 0:
            raise TrainingError(f"max_grad_norm must be > 0, got {max_grad_norm}")
        self.model = model
        self.max_grad_norm = float(max_grad_norm)
        self.loss_fn = loss_fn
        self.layers = [m for m in model.modules() if isinstance(m, nn.Linear) and _trainable(m)]
        self.params = [p for p in model.parameters() if p.requires_grad]
        self._acts: list[torch.Tensor] = []
        self._outs: list[torch.Tensor] = []
        self._order: list[nn.Linear] = []
        self._summed: list[torch.Tensor] | None = None
        self._handles = [m.register_forward_hook(self._hook) for m in self.layers]
        self._capture = False

    def _hook(self, mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if self._capture:
            self._order.append(mod)  # type: ignore[arg-type]
            self._acts.append(inp[0].detach())
            self._outs.append(out)

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def clipped_sum(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[dict[nn.Parameter, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Clipped per-sample gradient sum of one batch: ``({param: grad_sum}, loss_sum,
        per_sample_norms)``. Does not touch ``p.grad``."""
        self._acts, self._outs, self._order = [], [], []
        self._capture = True
        try:
            logits = self.model(x)
        finally:
            self._capture = False
        if len(self._order) != len(self.layers):
            raise TrainingError("fast path: a Linear layer did not run exactly once")
        loss = self.loss_fn(logits, y)
        outs, acts, order = self._outs, self._acts, self._order
        self._acts, self._outs, self._order = [], [], []
        grads = torch.autograd.grad(loss, outs, allow_unused=True)
        n = x.shape[0]
        norm2 = torch.zeros(n, dtype=logits.dtype)
        out: dict[nn.Parameter, torch.Tensor] = {}
        used: list[tuple[nn.Linear, torch.Tensor, torch.Tensor]] = []
        for mod, a, b in zip(order, acts, grads, strict=True):
            if b is None:  # the layer does not reach the loss: zero gradient
                for p in (mod.weight, mod.bias):
                    if p is not None and p.requires_grad:
                        out[p] = torch.zeros_like(p)
                continue
            used.append((mod, a, b))
            # row norms without materialising a*a / b*b temporaries
            bn = torch.linalg.vector_norm(b, dim=1).square_()
            if mod.weight.requires_grad:
                norm2 = norm2 + torch.linalg.vector_norm(a, dim=1).square_() * bn
            if mod.bias is not None and mod.bias.requires_grad:
                norm2 = norm2 + bn
        norms = norm2.sqrt()
        c = (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
        cc = c.unsqueeze(1)
        for mod, a, b in used:
            if mod.weight.requires_grad:
                # (c*b)^T a == b^T (c*a): scale whichever side is narrower
                if a.shape[1] <= b.shape[1]:
                    out[mod.weight] = b.t().mm(a * cc)
                else:
                    out[mod.weight] = (b * cc).t().mm(a)
            if mod.bias is not None and mod.bias.requires_grad:
                out[mod.bias] = b.t().mv(c)
        return out, loss.detach(), norms

    def accumulate(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Add the clipped per-sample gradient sum of ``(x, y)`` to the buffer; return the
        summed loss."""
        if x.shape[0] == 0:
            return 0.0
        grads, loss, _ = self.clipped_sum(x, y)
        if self._summed is None:  # first physical batch: its fresh tensors are the buffer
            self._summed = [grads[p] for p in self.params]
        else:
            for buf, p in zip(self._summed, self.params, strict=True):
                buf.add_(grads[p])
        return float(loss)

    def finalize(
        self,
        noise_multiplier: float,
        expected_batch_size: float,
        generator: NoiseSource | torch.Generator | None = None,
    ) -> None:
        """``p.grad = (clipped_sum + N(0, (sigma C)^2)) / expected_batch_size``; clears the
        buffer (an empty logical batch still gets its noise). The noise comes from
        ``generator`` — a :class:`~privtrain.dp._noise.NoiseSource`; default: a fresh
        :class:`~privtrain.dp._noise.SecureNoise` (AES-CTR CSPRNG); a ``torch.Generator`` is
        reproducible and not private (tests only)."""
        if self._summed is None:
            self._summed = [torch.zeros_like(p) for p in self.params]
        std = float(noise_multiplier) * self.max_grad_norm
        if std > 0:
            total = sum(buf.numel() for buf in self._summed)
            flat = gaussian((total,), std, source=generator, dtype=self._summed[0].dtype)
            parts = flat.split([b.numel() for b in self._summed])
            for buf, part in zip(self._summed, parts, strict=True):
                buf.add_(part.view_as(buf))
        for buf, p in zip(self._summed, self.params, strict=True):
            p.grad = buf.div_(float(expected_batch_size))
        self._summed = None
