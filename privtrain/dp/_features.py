"""Feature specifications: how table columns become model inputs, without leaking private rows.

Encoding statistics (category vocabularies, numeric ranges) come either from a *declared* public
schema (``source="declared"``) or from a differentially private release over the private rows
(``source="dp"``, :func:`dp_feature_spec`), whose cost is returned as mechanism-history entries so
the ledger composes it with DP-SGD in one accountant. Nothing is ever fitted silently on the data.

Encoding: a categorical column becomes a one-hot block of ``len(vocabulary) + 1`` columns (the
last one is the "other" bucket for unknown and missing values); a numeric column is clipped to
its declared ``[lower, upper]`` (after an optional ``log1p`` transform), then scaled to [0, 1]
(``minmax``) or standardised with the declared mean/std (``standard``). Columns of the table that
the spec does not name are ignored.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from privtrain._io import read_yaml_mapping
from privtrain.errors import ConfigError, InputError, NotFoundError, first_validation_error

from ._accounting import History, calibrate_noise, epsilon_for

logger = logging.getLogger(__name__)

OTHER = "__other__"


def _strs(v: Any) -> Any:
    """Numbers in a YAML list become strings; YAML booleans (unquoted yes/no/on/off) are refused."""
    if not isinstance(v, list):
        return v
    out = []
    for x in v:
        if isinstance(x, bool):
            raise ValueError(f"{x!r} is a boolean; quote yes/no/true/false values in YAML")
        out.append(str(x) if isinstance(x, int | float) else x)
    return out


class CategoricalColumn(BaseModel):
    """A categorical column with a public vocabulary; anything else goes to the "other" bucket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["categorical"] = "categorical"
    vocabulary: list[str]

    @field_validator("vocabulary", mode="before")
    @classmethod
    def _unique(cls, v: Any) -> Any:
        v = _strs(v)
        if isinstance(v, list) and len(set(v)) != len(v):
            raise ValueError("vocabulary has duplicate entries")
        return v

    @property
    def width(self) -> int:
        return len(self.vocabulary) + 1


class NumericColumn(BaseModel):
    """A numeric column with public bounds (applied after ``transform``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["numeric"] = "numeric"
    lower: float
    upper: float
    transform: Literal["none", "log1p"] = "none"
    scaling: Literal["minmax", "standard"] = "minmax"
    mean: float | None = None
    std: float | None = None
    fill: float | None = None  # raw value for missing entries; default: middle of the range

    @model_validator(mode="after")
    def _check(self) -> NumericColumn:
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            raise ValueError("lower and upper must be finite")
        if self.upper <= self.lower:
            raise ValueError(f"upper ({self.upper}) must be greater than lower ({self.lower})")
        if self.transform == "log1p" and self.lower <= -1:
            raise ValueError("log1p needs lower > -1")
        if self.scaling == "standard" and (self.mean is None or not self.std or self.std <= 0):
            raise ValueError("scaling 'standard' needs mean and a positive std (transformed units)")
        return self

    @property
    def width(self) -> int:
        return 1

    def _t(self, x: np.ndarray | float) -> np.ndarray | float:
        return np.log1p(x) if self.transform == "log1p" else x

    @property
    def t_bounds(self) -> tuple[float, float]:
        return float(self._t(self.lower)), float(self._t(self.upper))

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Clip to the bounds, transform, fill missing values, scale."""
        v = np.clip(values.astype(np.float64), self.lower, self.upper)
        t = self._t(v)
        lo, hi = self.t_bounds
        if self.fill is None:
            tfill = 0.5 * (lo + hi)  # middle of the (transformed) range
        else:
            tfill = float(self._t(min(max(self.fill, self.lower), self.upper)))
        t = np.where(np.isnan(t), tfill, t)
        if self.scaling == "standard":
            assert self.mean is not None and self.std is not None
            return (t - self.mean) / self.std
        return (t - lo) / (hi - lo)


Column = Annotated[CategoricalColumn | NumericColumn, Field(discriminator="type")]


class DPProvenance(BaseModel):
    """How a DP feature spec was released (for model cards / the ledger)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mechanism: str = "gaussian-histograms"
    noise_multiplier: float
    history: list[tuple[float, float, int]]
    delta: float
    accountant: str
    epsilon: float
    n_histograms: int


class FeatureSpec(BaseModel):
    """Declared or DP-computed encoding of table columns into a float32 matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["declared", "dp"] = "declared"
    columns: list[Column]
    target_classes: list[str] | None = None
    dp: DPProvenance | None = None

    @field_validator("target_classes", mode="before")
    @classmethod
    def _classes(cls, v: Any) -> Any:
        return _strs(v)

    @field_validator("columns", mode="before")
    @classmethod
    def _mapping_form(cls, v: Any) -> Any:
        # YAML convenience: {name: {type: ..., ...}} as well as [{name: ..., type: ...}]
        if isinstance(v, Mapping):
            return [{"name": k, **dict(spec or {})} for k, spec in v.items()]
        return v

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("a column is declared twice")
        if not self.columns:
            raise ValueError("no columns declared")
        if self.target_classes is not None:
            tc = [str(x) for x in self.target_classes]
            if len(tc) < 2 or len(set(tc)) != len(tc):
                raise ValueError("target_classes needs at least two distinct classes")
        if self.source == "dp" and self.dp is None:
            raise ValueError("source 'dp' needs its dp provenance")
        return self

    # ---- loading / dumping -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "feature spec") -> FeatureSpec:
        try:
            return cls.model_validate(dict(data))
        except ValidationError as e:
            loc, msg = first_validation_error(e)
            raise ConfigError(f"{where}: {loc or 'spec'}: {msg}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> FeatureSpec:
        p = Path(path)
        data = read_yaml_mapping(p, "feature spec", missing=NotFoundError, nested="features")
        return cls.from_dict(data, where=f"feature spec {p}")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    # ---- encoding ----------------------------------------------------------------------------

    @property
    def n_features(self) -> int:
        return sum(c.width for c in self.columns)

    def feature_names(self) -> list[str]:
        out: list[str] = []
        for c in self.columns:
            if isinstance(c, CategoricalColumn):
                out.extend(f"{c.name}={v}" for v in c.vocabulary)
                out.append(f"{c.name}={OTHER}")
            else:
                out.append(c.name)
        return out

    def encode(self, table: Any) -> np.ndarray:
        """Encode ``table`` (pyarrow.Table or pandas.DataFrame) into a float32 matrix.

        Columns not named by the spec are ignored; a named column that is missing raises
        :class:`InputError`. Out-of-range numbers are clipped to the declared bounds, unknown or
        missing categories go to the "other" bucket.
        """
        df = _frame(table, [c.name for c in self.columns])
        n = len(df)
        out = np.zeros((n, self.n_features), dtype=np.float32)
        j = 0
        for c in self.columns:
            s = df[c.name]
            if isinstance(c, CategoricalColumn):
                codes = _category_codes(s, c.vocabulary)
                out[np.arange(n), j + codes] = 1.0
            else:
                # Missing/non-numeric values are filled silently: a count of them would be a
                # statistic of the private rows.
                out[:, j] = c.encode(_numeric(s, c.name))
            j += c.width
        return out

    def encode_target(self, table: Any, target: str) -> np.ndarray:
        """Class indices (int64) of column ``target`` against the declared ``target_classes``."""
        if self.target_classes is None:
            raise ConfigError(
                "feature spec: target_classes is not declared; declare the label classes "
                "(they must not be read off the private rows)"
            )
        df = _frame(table, [target])
        s = df[target]
        labels = _as_str(s)
        index = {v: i for i, v in enumerate(self.target_classes)}
        codes = labels.map(index)
        if bool(codes.isna().any()):
            # No count, no value: the message must not be a statistic of the private rows.
            raise InputError(
                f"column {target!r}: some rows have a label outside target_classes "
                f"{self.target_classes} (or none); declare every class, or clean the dataset"
            )
        return codes.to_numpy(dtype=np.int64, copy=True)


def _frame(table: Any, columns: Sequence[str]) -> pd.DataFrame:
    """Select ``columns`` from a pyarrow.Table or pandas.DataFrame as a DataFrame."""
    if isinstance(table, pd.DataFrame):
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise InputError(f"table has no column {missing[0]!r} (needed by the feature spec)")
        return table.loc[:, list(columns)]
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pa = None
    if pa is not None and isinstance(table, pa.Table):
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise InputError(f"table has no column {missing[0]!r} (needed by the feature spec)")
        return table.select(list(columns)).to_pandas()
    raise InputError(f"expected a pyarrow.Table or pandas.DataFrame, got {type(table).__name__}")


def _as_str(s: pd.Series) -> pd.Series:
    """Strings with surrounding whitespace removed; missing values stay missing."""
    return s.astype("string").str.strip()


def _category_codes(s: pd.Series, vocabulary: Sequence[str]) -> np.ndarray:
    index = {v: i for i, v in enumerate(vocabulary)}
    codes = _as_str(s).map(index)
    return codes.fillna(len(vocabulary)).to_numpy(dtype=np.int64)


def _numeric(s: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64").to_numpy()
    vals = pd.to_numeric(s, errors="coerce")
    return vals.astype("float64").to_numpy(na_value=np.nan)


# ---- DP feature spec ---------------------------------------------------------------------------


class CategoricalHint(BaseModel):
    """Public candidate categories; a candidate is kept if its noisy count reaches the threshold
    (default: ``max(5, 3 * noise_multiplier)``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["categorical"] = "categorical"
    candidates: list[str]
    threshold: float | None = None


class NumericHint(BaseModel):
    """Public range for a numeric column; DP bounds are the ``quantiles`` of a noisy histogram
    with ``bins`` equal-width bins over ``[lower, upper]`` (after ``transform``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["numeric"] = "numeric"
    lower: float
    upper: float
    bins: int = Field(default=64, ge=2, le=100_000)
    quantiles: tuple[float, float] = (0.001, 0.999)
    transform: Literal["none", "log1p"] = "none"
    scaling: Literal["minmax", "standard"] = "minmax"

    @model_validator(mode="after")
    def _check(self) -> NumericHint:
        if not self.upper > self.lower:
            raise ValueError("upper must be greater than lower")
        a, b = self.quantiles
        if not 0.0 <= a < b <= 1.0:
            raise ValueError("quantiles must satisfy 0 <= low < high <= 1")
        return self


Hint = Annotated[CategoricalHint | NumericHint, Field(discriminator="type")]


class _Hints(BaseModel):
    columns: dict[str, Hint]


def _hints(columns: Mapping[str, Any]) -> dict[str, CategoricalHint | NumericHint]:
    try:
        hints = _Hints.model_validate({"columns": dict(columns)}).columns
    except ValidationError as e:
        loc, msg = first_validation_error(e, skip_loc=1)
        raise InputError(f"dp_feature_spec: column hint {loc}: {msg}") from None
    if not hints:
        raise InputError("dp_feature_spec: no columns given")
    return hints


def dp_feature_plan(
    columns: Mapping[str, CategoricalHint | NumericHint | Mapping[str, Any]],
    *,
    noise_multiplier: float | None = None,
    epsilon: float | None = None,
    delta: float = 1e-5,
    accountant: str = "prv",
) -> tuple[float, History]:
    """``(noise_multiplier, history)`` that :func:`dp_feature_spec` will use for these hints,
    computed without touching any row: a ledger reserves it before the statistics are
    released."""
    k = len(_hints(columns))
    if (noise_multiplier is None) == (epsilon is None):
        raise InputError("dp_feature_spec: give exactly one of noise_multiplier or epsilon")
    if noise_multiplier is None:
        assert epsilon is not None
        sigma = calibrate_noise(epsilon, delta, 1.0, k, accountant)
    else:
        sigma = float(noise_multiplier)
        if not math.isfinite(sigma) or sigma <= 0:
            raise InputError(f"dp_feature_spec: noise_multiplier must be > 0, got {sigma!r}")
    return sigma, [(sigma, 1.0, k)]


class _NumpyNoise:
    """numpy-style ``normal(0, sigma, size)`` over a :mod:`._noise` source."""

    def __init__(self, seed: int | None) -> None:
        from ._noise import SecureNoise, SeededNoise

        self.src = SecureNoise() if seed is None else SeededNoise(seed)

    def normal(self, loc: float, scale: float, size: int) -> np.ndarray:
        import torch

        return loc + self.src.gaussian((int(size),), float(scale), torch.float64).numpy()


def dp_feature_spec(
    table: Any,
    columns: Mapping[str, CategoricalHint | NumericHint | Mapping[str, Any]],
    *,
    noise_multiplier: float | None = None,
    epsilon: float | None = None,
    delta: float = 1e-5,
    accountant: str = "prv",
    target_classes: Sequence[str] | None = None,
    seed: int | None = None,
) -> tuple[FeatureSpec, History]:
    """Compute a :class:`FeatureSpec` from private rows with the Gaussian mechanism.

    One histogram per column (L2 sensitivity 1 under add/remove: a row adds 1 to exactly one bin
    of each histogram, or to none when its value is missing/not a candidate), each with Gaussian
    noise of std ``noise_multiplier``. Categorical columns keep the public candidates whose noisy
    count reaches the threshold; numeric columns get DP bounds from the noisy cumulative
    histogram over the public range (and, for ``standard`` scaling, mean/std from the same
    histogram). Give exactly one of ``noise_multiplier`` or ``epsilon`` (then the noise is
    calibrated to spend ``epsilon`` at ``delta`` with ``accountant``).

    Returns ``(spec, history)`` with ``history == [(noise_multiplier, 1.0, n_columns)]`` — the
    cost to compose with the training run in the ledger (:func:`dp_feature_plan` gives it
    before any row is read). ``target_classes`` is passed through as a declared public list.

    Noise comes from the AES-CTR CSPRNG of :mod:`privtrain.dp._noise`; ``seed`` (tests only)
    makes it reproducible, and then the statistics are not private.
    """
    hints = _hints(columns)
    sigma, history = dp_feature_plan(
        hints,
        noise_multiplier=noise_multiplier,
        epsilon=epsilon,
        delta=delta,
        accountant=accountant,
    )
    k = len(hints)
    eps = epsilon_for(history, delta, accountant)

    rng = _NumpyNoise(seed)
    df = _frame(table, list(hints))
    cols: list[CategoricalColumn | NumericColumn] = []
    for name, hint in hints.items():
        s = df[name]
        if isinstance(hint, CategoricalHint):
            cands = [str(c) for c in dict.fromkeys(hint.candidates)]
            codes = _category_codes(s, cands)
            counts = np.bincount(codes, minlength=len(cands) + 1)[: len(cands)].astype(float)
            noisy = counts + rng.normal(0.0, sigma, size=len(cands))
            thr = hint.threshold if hint.threshold is not None else max(5.0, 3.0 * sigma)
            vocab = [c for c, x in zip(cands, noisy, strict=True) if x >= thr]
            cols.append(CategoricalColumn(name=name, vocabulary=vocab))
        else:
            cols.append(_dp_numeric(name, _numeric(s, name), hint, sigma, rng))
    prov = DPProvenance(
        noise_multiplier=sigma,
        history=list(history),
        delta=float(delta),
        accountant=accountant,
        epsilon=float(eps),
        n_histograms=k,
    )
    spec = FeatureSpec(
        source="dp",
        columns=cols,
        target_classes=list(target_classes) if target_classes is not None else None,
        dp=prov,
    )
    logger.info("dp feature spec: %d columns, noise multiplier %.4g, epsilon %.4g", k, sigma, eps)
    return spec, history


def _dp_numeric(
    name: str, vals: np.ndarray, hint: NumericHint, sigma: float, rng: _NumpyNoise
) -> NumericColumn:
    vals = vals[~np.isnan(vals)]
    vals = np.clip(vals, hint.lower, hint.upper)
    tf = np.log1p if hint.transform == "log1p" else (lambda x: x)
    if hint.transform == "log1p" and hint.lower <= -1:
        raise InputError(f"dp_feature_spec: column {name!r}: log1p needs lower > -1")
    lo, hi = float(tf(hint.lower)), float(tf(hint.upper))
    edges = np.linspace(lo, hi, hint.bins + 1)
    counts, _ = np.histogram(tf(vals), bins=edges)
    noisy = counts + rng.normal(0.0, sigma, size=hint.bins)
    # Bins whose noisy count is within noise of zero are treated as empty, so the noise mass of
    # many empty bins does not drag the quantiles out to the public range.
    noisy = np.where(noisy >= 3.0 * sigma, noisy, 0.0)
    total = float(noisy.sum())
    inv = np.expm1 if hint.transform == "log1p" else (lambda x: x)
    lower, upper = hint.lower, hint.upper
    if total >= max(10.0, 10.0 * sigma):
        cdf = np.cumsum(noisy) / total
        qa, qb = hint.quantiles
        i_lo = int(np.searchsorted(cdf, qa, side="right")) if qa > 0 else 0
        i_hi = int(np.searchsorted(cdf, qb, side="left")) if qb < 1 else hint.bins - 1
        i_lo, i_hi = min(i_lo, hint.bins - 1), min(max(i_hi, i_lo), hint.bins - 1)
        lower = float(inv(edges[i_lo])) if i_lo > 0 else hint.lower
        upper = float(inv(edges[i_hi + 1])) if i_hi < hint.bins - 1 else hint.upper
    else:
        logger.info("column %r: noisy count too small, keeping the public range", name)
    mean = std = None
    if hint.scaling == "standard":
        mids = 0.5 * (edges[:-1] + edges[1:])
        if total > 0:
            mean = float((noisy * mids).sum() / total)
            std = float(math.sqrt(max((noisy * (mids - mean) ** 2).sum() / total, 0.0)))
        if not std or std <= 0:
            mean, std = 0.5 * (lo + hi), (hi - lo) / math.sqrt(12.0)
    return NumericColumn(
        name=name,
        lower=lower,
        upper=upper,
        transform=hint.transform,
        scaling=hint.scaling,
        mean=mean,
        std=std,
    )


# ---- UCI Adult public schema -------------------------------------------------------------------

_ADULT_CATEGORIES: dict[str, list[str]] = {
    # Vocabularies as documented in UCI adult.names (Becker & Kohavi 1996).
    "workclass": [
        "Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov",
        "State-gov", "Without-pay", "Never-worked",
    ],
    "education": [
        "Bachelors", "Some-college", "11th", "HS-grad", "Prof-school", "Assoc-acdm",
        "Assoc-voc", "9th", "7th-8th", "12th", "Masters", "1st-4th", "10th", "Doctorate",
        "5th-6th", "Preschool",
    ],
    "marital-status": [
        "Married-civ-spouse", "Divorced", "Never-married", "Separated", "Widowed",
        "Married-spouse-absent", "Married-AF-spouse",
    ],
    "occupation": [
        "Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial",
        "Prof-specialty", "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical",
        "Farming-fishing", "Transport-moving", "Priv-house-serv", "Protective-serv",
        "Armed-Forces",
    ],
    "relationship": [
        "Wife", "Own-child", "Husband", "Not-in-family", "Other-relative", "Unmarried",
    ],
    "race": ["White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"],
    "sex": ["Female", "Male"],
    "native-country": [
        "United-States", "Cambodia", "England", "Puerto-Rico", "Canada", "Germany",
        "Outlying-US(Guam-USVI-etc)", "India", "Japan", "Greece", "South", "China", "Cuba",
        "Iran", "Honduras", "Philippines", "Italy", "Poland", "Jamaica", "Vietnam", "Mexico",
        "Portugal", "Ireland", "France", "Dominican-Republic", "Laos", "Ecuador", "Taiwan",
        "Haiti", "Columbia", "Hungary", "Guatemala", "Nicaragua", "Scotland", "Thailand",
        "Yugoslavia", "El-Salvador", "Trinadad&Tobago", "Peru", "Hong", "Holand-Netherlands",
    ],
}  # fmt: skip

ADULT_TARGET = "class"
ADULT_CLASSES = ["<=50K", ">50K"]


def adult_feature_spec() -> FeatureSpec:
    """The declared public schema of UCI Adult (vocabularies from the UCI documentation, public
    numeric ranges). ``fnlwgt`` (a census sampling weight) is not used; the target column is
    ``class`` with classes ``["<=50K", ">50K"]``. Extra columns in a table are ignored."""
    c = _ADULT_CATEGORIES
    cols: list[CategoricalColumn | NumericColumn] = [
        NumericColumn(name="age", lower=17, upper=90),
        CategoricalColumn(name="workclass", vocabulary=c["workclass"]),
        CategoricalColumn(name="education", vocabulary=c["education"]),
        NumericColumn(name="education-num", lower=1, upper=16),
        CategoricalColumn(name="marital-status", vocabulary=c["marital-status"]),
        CategoricalColumn(name="occupation", vocabulary=c["occupation"]),
        CategoricalColumn(name="relationship", vocabulary=c["relationship"]),
        CategoricalColumn(name="race", vocabulary=c["race"]),
        CategoricalColumn(name="sex", vocabulary=c["sex"]),
        NumericColumn(name="capital-gain", lower=0, upper=99999, transform="log1p"),
        NumericColumn(name="capital-loss", lower=0, upper=4999, transform="log1p"),
        NumericColumn(name="hours-per-week", lower=1, upper=99),
        CategoricalColumn(name="native-country", vocabulary=c["native-country"]),
    ]
    return FeatureSpec(source="declared", columns=cols, target_classes=list(ADULT_CLASSES))


# ---- DP statistics for a features plan (no public hints) ---------------------------------------

#: Public, data-independent bin edges for DP numeric ranges: 0 and ±{1, 2, 5}·10^k for
#: k = -3 … 12 (values beyond ±5e12 fall in the outermost bins).
PUBLIC_EDGES: np.ndarray = np.array(
    sorted(
        {0.0}
        | {m * 10.0**k for k in range(-3, 13) for m in (1.0, 2.0, 5.0)}
        | {-m * 10.0**k for k in range(-3, 13) for m in (1.0, 2.0, 5.0)}
    )
)


def dp_partition_selection(
    values: pd.Series,
    sigma: float,
    delta_selection: float,
    noise: Any,
    *,
    max_values: int = 1000,
) -> list[str]:
    """Categories of a column released by Gaussian thresholding (DP partition selection).

    Each row adds 1 to the count of its own value (L2 sensitivity 1 over the count vector); a
    value is released if its count plus N(0, σ²) reaches ``τ = 1 + σ·Φ⁻¹(1 − δ_sel)``, so a
    value held by a single row is released with probability at most ``δ_sel``. Privacy: the
    Gaussian mechanism (σ, sensitivity 1) with ``δ_sel`` added to its δ. Values come out most
    frequent first (by noisy count), at most ``max_values`` (post-processing)."""
    from statistics import NormalDist

    counts = _as_str(values).dropna().value_counts()
    if counts.empty:
        return []
    noisy = counts.to_numpy(dtype=np.float64) + noise.normal(0.0, sigma, len(counts))
    tau = 1.0 + sigma * NormalDist().inv_cdf(1.0 - delta_selection)
    order = np.argsort(-noisy, kind="stable")
    keep = [str(counts.index[i]) for i in order if noisy[i] >= tau]
    return keep[:max_values]


def dp_numeric_range(
    values: np.ndarray,
    sigma: float,
    noise: Any,
    quantiles: tuple[float, float] = (0.005, 0.995),
) -> tuple[float, float] | None:
    """DP bounds of a numeric column: the ``quantiles`` of a noisy histogram over the public
    log-scale bins :data:`PUBLIC_EDGES` (L2 sensitivity 1: a row adds 1 to one bin; missing
    values to none). Bins whose noisy count is below 3σ are treated as empty. Returns the
    bin edges around the quantiles, or None when too little survives the noise."""
    v = values[np.isfinite(values)]
    edges = PUBLIC_EDGES
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1).astype(np.float64)
    noisy = counts + noise.normal(0.0, sigma, len(counts))
    noisy = np.where(noisy >= 3.0 * sigma, noisy, 0.0)
    total = float(noisy.sum())
    if total < max(10.0, 10.0 * sigma):
        return None
    cdf = np.cumsum(noisy) / total
    i_lo = int(np.searchsorted(cdf, quantiles[0], side="right"))
    i_hi = int(np.searchsorted(cdf, quantiles[1], side="left"))
    i_lo = min(i_lo, len(counts) - 1)
    i_hi = min(max(i_hi, i_lo), len(counts) - 1)
    lo, hi = float(edges[i_lo]), float(edges[i_hi + 1])
    return (lo, hi) if hi > lo else None


def features_plan_spec(
    table: Any,
    target: str,
    *,
    sigma: float,
    delta_selection: float,
    noise: Any,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> tuple[dict[str, Any], list[str]]:
    """A reviewable feature spec (as a dict) from one DP release per column and one for the
    target's classes; returns ``(spec, notes)``. Categorical columns that release no value
    (identifiers, free text, rare values) and numeric columns without a range are left out
    and named in the notes."""
    df = _frame(table, [*numeric, *categorical, target])
    cols: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in [c for c in df.columns if c != target]:
        if name in numeric:
            r = dp_numeric_range(_numeric(df[name], name), sigma, noise)
            if r is None:
                notes.append(f"{name}: numeric, no range survived the noise (left out)")
                continue
            cols.append({"name": name, "type": "numeric", "lower": r[0], "upper": r[1]})
        else:
            vocab = dp_partition_selection(df[name], sigma, delta_selection, noise)
            if not vocab:
                notes.append(
                    f"{name}: categorical, no value is frequent enough to release "
                    "(identifier or free text?) (left out)"
                )
                continue
            cols.append({"name": name, "type": "categorical", "vocabulary": vocab})
    classes = dp_partition_selection(df[target], sigma, delta_selection, noise)
    return {"source": "declared", "target_classes": classes, "columns": cols}, notes
