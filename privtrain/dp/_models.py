"""Models: the default tabular MLP, models by import path, Opacus compatibility fixes, and
rebuilding a trained model from its architecture spec + state-dict bytes."""

from __future__ import annotations

import importlib
import io
import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from privtrain.errors import ConfigError, IntegrityError

logger = logging.getLogger(__name__)


def _opacus() -> None:
    """Import Opacus without letting it configure the root logger.

    ``opacus.utils.module_utils`` calls ``logging.basicConfig`` at import time, which would make
    the library print log records to stderr. Remove any root handler it adds.
    """
    root = logging.getLogger()
    before = list(root.handlers)
    import opacus  # noqa: F401
    import opacus.utils.module_utils  # noqa: F401

    for h in list(root.handlers):
        if h not in before:
            root.removeHandler(h)


class MLP(nn.Sequential):
    """Tabular MLP: ``Linear -> ReLU`` per hidden size, then a ``Linear`` to the class logits.

    Only ``nn.Linear`` layers carry parameters, so it qualifies for the book-keeping fast path
    and for Opacus ghost clipping."""

    def __init__(self, n_features: int, n_classes: int, hidden: Sequence[int] = (256, 256)):
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, n_classes))
        super().__init__(*layers)


def _factory(path: str) -> Any:
    mod_name, sep, attr = path.partition(":")
    if not sep or not mod_name or not attr:
        raise ConfigError(f"model {path!r}: expected 'mlp' or 'module:factory'")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ConfigError(f"model {path!r}: cannot import module {mod_name!r}: {e}") from None
    obj: Any = mod
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"model {path!r}: module {mod_name!r} has no {attr!r}") from None
    if not callable(obj):
        raise ConfigError(f"model {path!r}: {attr!r} is not callable")
    return obj


def _instantiate(model: str, n_features: int, n_classes: int, hidden: Sequence[int]) -> nn.Module:
    if model == "mlp":
        return MLP(n_features, n_classes, hidden)
    factory = _factory(model)
    try:
        net = factory(n_features, n_classes)
    except Exception as e:  # user code: report, do not crash with a traceback
        raise ConfigError(f"model {model!r}: factory failed: {type(e).__name__}: {e}") from None
    if not isinstance(net, nn.Module):
        raise ConfigError(f"model {model!r}: factory returned {type(net).__name__}, not nn.Module")
    return net


# Module types whose forward treats each sample of a batch on its own (no statistic across the
# batch, no running buffers updated from the data). Exact types only: a subclass may override
# forward. Anything else — BatchNorm (even affine=False: its batch statistics mix samples and
# its running statistics are unnoised), InstanceNorm with running stats, attention over the
# batch dimension, custom modules whose forward is code we cannot inspect — is refused, since one
# added row could then move other rows' clipped gradients and the sensitivity DP-SGD assumes
# would not hold.
PER_SAMPLE_MODULES: tuple[type[nn.Module], ...] = (
    MLP,
    nn.Sequential,
    nn.Linear,
    nn.Bilinear,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.Dropout,
    nn.AlphaDropout,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Hardtanh,
    nn.Hardsigmoid,
    nn.Hardswish,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.LogSigmoid,
    nn.Softmax,
    nn.LogSoftmax,
)


def mixing_layer(net: nn.Module) -> str | None:
    """The first module of ``net`` not on the per-sample allow-list, as ``'name' (Type)``,
    or None. For Softmax/LogSoftmax/Flatten the dimension must not be the batch one."""
    for name, m in net.named_modules():
        where = f"{name or '<root>'!r} ({type(m).__name__})"
        if type(m) not in PER_SAMPLE_MODULES:
            return where
        if isinstance(m, nn.Softmax | nn.LogSoftmax) and m.dim in (None, 0):
            return where + " with dim over the batch"
        if isinstance(m, nn.Flatten) and m.start_dim == 0:
            return where + " flattening the batch"
    return None


def build_model(
    model: str,
    n_features: int,
    n_classes: int,
    hidden: Sequence[int] = (256, 256),
    *,
    make_private_compatible: bool = True,
) -> tuple[nn.Module, dict[str, Any]]:
    """Build ``model`` ("mlp" or "module:factory" with ``factory(n_features, n_classes)``).

    With ``make_private_compatible`` the module is checked by Opacus' ``ModuleValidator`` and
    fixed when needed (e.g. BatchNorm -> GroupNorm; the returned architecture spec records the
    fix so :func:`load_model` can rebuild the same network), then every module must be on the
    per-sample allow-list (:data:`PER_SAMPLE_MODULES`): ConfigError naming the first that is
    not.
    """
    net = _instantiate(model, n_features, n_classes, hidden)
    fixes: list[str] = []
    if make_private_compatible:
        _opacus()
        from opacus.validators import ModuleValidator

        net.train()
        errors = ModuleValidator.validate(net, strict=False)
        if errors:
            fixes = sorted({type(e).__name__ + ": " + str(e).splitlines()[0] for e in errors})
            logger.info(
                "model %s is not DP-compatible (%s); applying ModuleValidator.fix",
                model,
                "; ".join(fixes),
            )
            net = ModuleValidator.fix(net)
            remaining = ModuleValidator.validate(net, strict=False)
            if remaining:
                raise ConfigError(f"model {model!r} cannot be made DP-compatible: {remaining[0]}")
        bad = mixing_layer(net)
        if bad is not None:
            raise ConfigError(
                f"model {model!r}: layer {bad} is not on the per-sample allow-list: a layer "
                "that mixes the samples of a batch (e.g. BatchNorm, batch centering) breaks "
                "the DP-SGD sensitivity bound; use per-sample layers (Linear, LayerNorm, "
                "GroupNorm, activations) in an nn.Sequential"
            )
    arch: dict[str, Any] = {
        "model": model,
        "n_features": int(n_features),
        "n_classes": int(n_classes),
        "validator_fixed": bool(fixes),
        "fixes": fixes,
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "layers": [f"{name}: {type(m).__name__}" for name, m in net.named_modules() if name],
    }
    if model == "mlp":
        arch["hidden"] = [int(h) for h in hidden]
    return net, arch


def state_dict_bytes(net: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, buf)
    return buf.getvalue()


def load_model(architecture: dict[str, Any], state_dict: bytes) -> nn.Module:
    """Rebuild the network described by ``architecture`` and load ``state_dict`` bytes into it.
    Returns the module in eval mode."""
    try:
        model = str(architecture["model"])
        n_features = int(architecture["n_features"])
        n_classes = int(architecture["n_classes"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError("architecture spec lacks model/n_features/n_classes") from None
    net = _instantiate(model, n_features, n_classes, architecture.get("hidden", (256, 256)))
    if architecture.get("validator_fixed"):
        _opacus()
        from opacus.validators import ModuleValidator

        net = ModuleValidator.fix(net)
    try:
        sd = torch.load(io.BytesIO(state_dict), map_location="cpu", weights_only=True)
        net.load_state_dict(sd)
    except Exception as e:
        raise IntegrityError(f"model state does not match architecture {model!r}: {e}") from None
    net.eval()
    return net
