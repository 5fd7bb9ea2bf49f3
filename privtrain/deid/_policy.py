"""The de-identification policy: which transform applies to which entity / column class."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from privtrain._io import read_yaml_mapping
from privtrain.errors import ConfigError, first_validation_error

Action = Literal[
    "drop", "replace", "redact", "mask", "pseudonymize", "generalize", "date_shift", "keep", "scrub"
]

#: Entities whose values can be generalized, and what generalization means for them.
GENERALIZABLE = {"AGE", "DATE", "DATE_TIME", "ZIP", "BIRTH_DATE"}
#: Entities whose values are dates (for ``date_shift``).
DATE_ENTITIES = {"DATE", "DATE_TIME", "BIRTH_DATE"}

#: National phone formats recognised by default: the Americas, Europe, the Middle East,
#: Africa, Asia and Oceania ("+CC ..." numbers are found for every country whatever the list).
DEFAULT_PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "IN", "BR", "AU", "CA", "JP", "ES", "IT", "MX", "NL", "IE", "BE",
    "DK", "SE", "NO", "FI", "PL", "PT", "AT", "CH", "CZ", "HU", "GR", "RO", "BG", "HR", "SK",
    "SI", "LT", "LV", "EE", "LU", "IS", "TR", "RU", "UA", "IL", "AE", "SA", "EG", "MA", "ZA",
    "NG", "KE", "CN", "HK", "TW", "KR", "SG", "MY", "TH", "PH", "ID", "VN", "PK", "BD", "NZ",
    "AR", "CL", "CO", "PE",
)  # fmt: skip

#: The shipped profiles (``policies/deid-<name>.yaml``; ``safe-harbor`` is ``deid.yaml``).
PROFILES = ("safe-harbor", "pseudonymous")


class Transform(BaseModel):
    """One transform; YAML also takes the bare action name (``PERSON: pseudonymize``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    tag: str | None = None  # replace: the text to put in (default "<ENTITY>")
    keep_last: int = Field(0, ge=0, le=64)  # mask
    mask_char: str = Field("*", min_length=1, max_length=1)  # mask
    band: int = Field(10, ge=1, le=100)  # generalize AGE
    top: int | None = Field(90, ge=1, le=200)  # generalize AGE: ages >= top -> "top+"
    granularity: Literal["year", "month"] = "year"  # generalize DATE / DATE_TIME
    digits: int = Field(3, ge=0, le=5)  # generalize ZIP
    max_days: int = Field(365, ge=1, le=3650)  # date_shift
    # generalize ZIP: the 3-digit prefixes of areas of <= 20,000 people become "000"
    restricted_zip3: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"action": v}
        return v

    def describe(self) -> str:
        """A short human-readable form, e.g. ``generalize(band=10, top=90)``."""
        extra: list[str] = []
        if self.action == "replace" and self.tag:
            extra.append(f"tag={self.tag!r}")
        if self.action == "mask":
            extra.append(f"keep_last={self.keep_last}")
        if self.action == "date_shift":
            extra.append(f"max_days={self.max_days}")
        return f"{self.action}({', '.join(extra)})" if extra else self.action

    def check_for(self, entity: str | None, where: str) -> None:
        """Raise ConfigError when this transform cannot apply to ``entity``."""
        if self.action == "generalize" and entity not in GENERALIZABLE:
            raise ConfigError(
                f"{where}: generalize applies to {sorted(GENERALIZABLE)}, not {entity}"
            )
        if self.action == "date_shift" and entity not in DATE_ENTITIES:
            raise ConfigError(f"{where}: date_shift applies to dates, not {entity}")


class PseudonymSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    hex_chars: int = Field(16, ge=8, le=64)


class DetectionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    score_threshold: float = Field(0.4, ge=0.0, le=1.0)
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    min_support: float = Field(0.6, gt=0.0, le=1.0)
    free_text_min_chars: int = Field(40, ge=1)

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import phonenumbers

        supported = phonenumbers.SUPPORTED_REGIONS
        out = tuple(r.strip().upper() for r in v)
        bad = [r for r in out if r not in supported]
        if bad:
            raise ValueError(f"unknown phone region(s) {bad} (use ISO 3166 codes, e.g. GB)")
        if not out:
            raise ValueError("at least one phone region is needed")
        return out


class DeidPolicy(BaseModel):
    """Transforms per entity for direct identifiers, quasi-identifiers and free-text spans."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    profile: str = "custom"  # safe-harbor, pseudonymous, or a name of your own
    summary: str = ""  # one line: what the profile does
    keeps: list[str] = Field(default_factory=list)  # what it keeps that Safe Harbor removes
    pseudonym: PseudonymSettings = PseudonymSettings()
    detection: DetectionSettings = DetectionSettings()
    direct_identifiers: dict[str, Transform] = Field(default_factory=dict)
    quasi_identifiers: dict[str, Transform] = Field(default_factory=dict)
    free_text: dict[str, Transform] = Field(default_factory=dict)
    source: str | None = Field(default=None, exclude=True)  # where it was loaded from

    @field_validator("direct_identifiers", "quasi_identifiers", "free_text", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return {} if v is None else v

    @model_validator(mode="after")
    def _check(self) -> DeidPolicy:
        for section in ("direct_identifiers", "quasi_identifiers", "free_text"):
            for entity, t in getattr(self, section).items():
                where = f"policy {section}.{entity}"
                if t.action == "scrub":
                    raise ConfigError(f"{where}: scrub applies to free-text columns only")
                if entity != "default":
                    t.check_for(entity, where)
                elif t.action in ("generalize", "date_shift"):
                    raise ConfigError(f"{where}: the default cannot be {t.action}")
        return self

    def transform_for(self, kind: str, entity: str | None) -> Transform:
        """The transform this policy assigns to a column class (``kind``) and entity."""
        if kind == "safe":
            return Transform(action="keep")
        if kind == "free_text":
            return Transform(action="scrub")
        section = self.direct_identifiers if kind == "direct" else self.quasi_identifiers
        fallback = "replace" if kind == "direct" else "keep"
        return section.get(entity or "", section.get("default", Transform(action=fallback)))

    def text_transform(self, entity: str) -> Transform:
        """The transform for a free-text span of ``entity`` (unknown entities: the default)."""
        return self.free_text.get(
            entity, self.free_text.get("default", Transform(action="replace"))
        )

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON form (recorded in reports)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def shipped_policy_paths() -> list[Path]:
    """Where the shipped default policy lives: the repository copy first, then package data."""
    here = Path(__file__).resolve().parent
    return [here.parent.parent / "policies" / "deid.yaml", here / "default_policy.yaml"]


def profile_path(name: str) -> Path:
    """The shipped policy file of profile ``name`` (ConfigError if there is none)."""
    if name not in PROFILES:
        raise ConfigError(f"unknown de-identification profile {name!r}; shipped: {PROFILES}")
    if name == "safe-harbor":
        candidates = shipped_policy_paths()
    else:
        here = Path(__file__).resolve().parent
        candidates = [
            here.parent.parent / "policies" / f"deid-{name}.yaml",
            here / "profiles" / f"deid-{name}.yaml",
        ]
    for p in candidates:
        if p.is_file():
            return p
    raise ConfigError(f"shipped de-identification profile {name!r} not found (reinstall)")


def load_policy(path: Path | str | None = None) -> DeidPolicy:
    """Load a policy file; ``None`` = the shipped default, the Safe Harbor profile
    (``policies/deid.yaml``); a profile name (``"pseudonymous"``) = that shipped profile.

    Raises ConfigError (file missing, not YAML, or invalid; the message names the file and field).
    """
    if isinstance(path, str) and path in PROFILES:
        path = profile_path(path)
    if path is None:
        candidates = [p for p in shipped_policy_paths() if p.is_file()]
        if not candidates:
            raise ConfigError("shipped de-identification policy not found (reinstall privtrain)")
        path = candidates[0]
    path = Path(path)
    data = read_yaml_mapping(path, "policy file")
    try:
        policy = DeidPolicy.model_validate(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e.message}") from e
    except ValidationError as e:
        loc, msg = first_validation_error(e)
        raise ConfigError(f"policy file {path}: {loc}: {msg}") from e
    return policy.model_copy(update={"source": str(path)})
