"""Feature specs: declared (public) encodings and DP-computed ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from privtrain.dp import (
    CategoricalColumn,
    FeatureSpec,
    NumericColumn,
    adult_feature_spec,
    dp_feature_spec,
    epsilon_for,
)
from privtrain.errors import ConfigError, InputError, NotFoundError

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"


def small_spec() -> FeatureSpec:
    return FeatureSpec(
        columns=[
            NumericColumn(name="age", lower=20, upper=60),
            CategoricalColumn(name="color", vocabulary=["red", "blue"]),
            NumericColumn(name="income", lower=0, upper=999, transform="log1p"),
        ],
        target_classes=["no", "yes"],
    )


def test_declared_spec_ignores_unknown_columns_and_clips() -> None:
    df = pd.DataFrame(
        {
            "ssn_pseudonym": ["a1", "b2", "c3", "d4"],  # extra columns are ignored
            "age": [10, 40, 200, None],
            "color": ["red", " blue ", "green", None],
            "income": [0, 999, 5000, -3],
            "notes": ["x", "y", "z", "w"],
            "label": ["no", "yes", "yes", "no"],
        }
    )
    spec = small_spec()
    assert spec.source == "declared"
    x = spec.encode(df)
    assert x.shape == (4, spec.n_features) == (4, 5) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0], [0.0, 0.5, 1.0, 0.5])  # clipped; missing -> middle
    np.testing.assert_array_equal(x[:, 1:4], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]])
    np.testing.assert_allclose(x[:, 4], [0.0, 1.0, 1.0, 0.0], atol=1e-6)  # clipped to bounds
    assert spec.feature_names() == [
        "age",
        "color=red",
        "color=blue",
        "color=__other__",
        "income",
    ]
    np.testing.assert_array_equal(spec.encode_target(df, "label"), [0, 1, 1, 0])
    np.testing.assert_array_equal(spec.encode(pa.Table.from_pandas(df)), x)


def test_encoding_errors() -> None:
    spec = small_spec()
    with pytest.raises(InputError, match="color"):
        spec.encode(pd.DataFrame({"age": [1], "income": [2]}))
    with pytest.raises(InputError, match="label"):
        spec.encode_target(pd.DataFrame({"label": ["no", "maybe"]}), "label")
    with pytest.raises(ConfigError, match="target_classes"):
        FeatureSpec(columns=spec.columns).encode_target(pd.DataFrame({"l": ["a"]}), "l")
    with pytest.raises(InputError):
        spec.encode([[1, 2, 3]])


def test_standard_scaling() -> None:
    col = NumericColumn(name="v", lower=0, upper=10, scaling="standard", mean=5.0, std=2.0)
    spec = FeatureSpec(columns=[col])
    np.testing.assert_allclose(spec.encode(pd.DataFrame({"v": [5, 9, 20]}))[:, 0], [0, 2, 2.5])


def test_yaml_loading(tmp_path: Path) -> None:
    p = tmp_path / "features.yaml"
    p.write_text(
        "target_classes: ['no', 'yes']\n"
        "columns:\n"
        "  age: {type: numeric, lower: 20, upper: 60}\n"
        "  color: {type: categorical, vocabulary: [red, blue]}\n"
        "  income: {type: numeric, lower: 0, upper: 999, transform: log1p}\n"
    )
    spec = FeatureSpec.from_yaml(p)
    assert spec == small_spec()
    p.write_text(
        "features:\n  columns:\n    - {name: a, type: numeric, lower: 0, upper: 1}\n"
        "  target_classes: ['0', '1']\n"
    )
    assert FeatureSpec.from_yaml(p).columns[0].name == "a"
    assert FeatureSpec.from_dict(small_spec().to_dict()) == small_spec()
    p.write_text(
        "target_classes: [no, yes]\n"
        "columns:\n  - {name: a, type: categorical, vocabulary: [1, 2]}\n"
    )
    with pytest.raises(ConfigError, match="quote"):
        FeatureSpec.from_yaml(p)
    p.write_text("columns:\n  - {name: a, type: categorical, vocabulary: [1, 2.5]}\n")
    assert FeatureSpec.from_yaml(p).columns[0].vocabulary == ["1", "2.5"]
    p.write_text("columns:\n  - {name: a, type: numeric, lower: 5, upper: 1}\n")
    with pytest.raises(ConfigError, match="upper"):
        FeatureSpec.from_yaml(p)
    p.write_text("columns: [\n")
    with pytest.raises(ConfigError, match="YAML"):
        FeatureSpec.from_yaml(p)
    with pytest.raises(NotFoundError):
        FeatureSpec.from_yaml(tmp_path / "missing.yaml")


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT)


def test_adult_spec_covers_the_public_schema(adult: pd.DataFrame) -> None:
    spec = adult_feature_spec()
    for col in spec.columns:
        if isinstance(col, CategoricalColumn):
            seen = set(adult[col.name].astype(str).str.strip()) - {"?"}
            assert seen <= set(col.vocabulary), col.name
    demo = adult.head(50).assign(name="Jane Roe", email_pseudonym="9f2c", fnlwgt=0)
    x = spec.encode(demo)
    assert x.shape == (50, spec.n_features)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(spec.encode_target(demo, "class")) <= {0, 1}


def test_dp_feature_spec_returns_history_and_spec(adult: pd.DataFrame) -> None:
    hints = {
        "age": {"type": "numeric", "lower": 0, "upper": 150, "bins": 150},
        "workclass": {
            "type": "categorical",
            "candidates": ["Private", "Self-emp-not-inc", "Never-worked", "Astronaut"],
        },
        "capital-gain": {
            "type": "numeric",
            "lower": 0,
            "upper": 1e6,
            "transform": "log1p",
            "scaling": "standard",
        },
    }
    spec, history = dp_feature_spec(adult, hints, noise_multiplier=4.0, seed=0)
    assert history == [(4.0, 1.0, 3)]
    assert spec.source == "dp" and spec.dp is not None
    assert spec.dp.history == history
    assert spec.dp.epsilon == pytest.approx(epsilon_for(history, 1e-5))
    cols = {c.name: c for c in spec.columns}
    assert cols["workclass"].vocabulary == ["Private", "Self-emp-not-inc"]  # rare ones dropped
    age = cols["age"]
    assert 0 <= age.lower <= 20 and 85 <= age.upper <= 100  # public range 0..150 tightened
    cg = cols["capital-gain"]
    assert cg.scaling == "standard" and cg.std and cg.std > 0
    assert spec.encode(adult.head(10)).shape == (10, spec.n_features)

    spec2, history2 = dp_feature_spec(
        adult, {"age": hints["age"]}, epsilon=0.5, target_classes=["<=50K", ">50K"]
    )
    assert history2[0][1:] == (1.0, 1)
    assert 0.49 <= epsilon_for(history2, 1e-5) <= 0.5
    assert spec2.target_classes == ["<=50K", ">50K"]
    with pytest.raises(InputError):
        dp_feature_spec(adult, {"age": hints["age"]})
    with pytest.raises(InputError):
        dp_feature_spec(adult, {"age": {"type": "numeric", "lower": 5}}, noise_multiplier=1.0)
