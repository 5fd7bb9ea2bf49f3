"""privtrain.deid value transforms, pseudonyms and the policy file."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privtrain.deid import Transform, load_policy, shipped_policy_paths
from privtrain.deid._transforms import (
    CellTransform,
    PseudonymKey,
    date_offset_days,
    generalize_age,
    generalize_date,
    generalize_zip,
    mask,
    normalize,
    parse_date,
    pseudonym,
    shift_date,
)
from privtrain.errors import ConfigError, KeyAccessError

ROOT = Path(__file__).resolve().parent.parent

KEY = PseudonymKey.from_tuple((3, b"k" * 32))
OTHER = PseudonymKey.from_tuple((4, b"j" * 32))


def test_pseudonym_format_is_documented_hmac():
    raw = hmac.new(b"k" * 32, b"PERSON\x00john smith", hashlib.sha256).hexdigest()
    assert pseudonym("PERSON", "John Smith", KEY) == f"PERSON_{raw[:16]}"


@pytest.mark.parametrize(
    ("entity", "forms"),
    [
        ("PERSON", ["John Smith", "JOHN SMITH", "Smith, John", "  john   smith ", "Mr. John Smith",
                    "SMITH, JOHN", "John Smith."]),
        ("PERSON", ["José Ñúñez", "JOSE NUNEZ", "Nunez, Jose"]),
        ("EMAIL_ADDRESS", ["Jane.Roe@Example.com", " jane.roe@example.com ",
                           "mailto:JANE.ROE@example.COM"]),
        ("PHONE_NUMBER", ["(415) 555-2671", "415.555.2671", "+1 415 555 2671", "1-415-555-2671"]),
        ("US_SSN", ["536-22-8727", "536228727", "536 22 8727"]),
        ("UK_NINO", ["AB 12 34 56 C", "ab123456c"]),
        ("IP_ADDRESS", ["2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"]),
    ],
)  # fmt: skip
def test_normalization_makes_forms_agree(entity, forms):
    tokens = {pseudonym(entity, f, KEY) for f in forms}
    assert len(tokens) == 1, {f: pseudonym(entity, f, KEY) for f in forms}
    assert next(iter(tokens)).startswith(entity + "_")


def test_different_key_or_entity_gives_different_token():
    assert pseudonym("PERSON", "John Smith", KEY) != pseudonym("PERSON", "John Smith", OTHER)
    assert pseudonym("PERSON", "Jordan", KEY) != pseudonym("LOCATION", "Jordan", KEY)
    assert pseudonym("PERSON", "John Smith", KEY) != pseudonym("PERSON", "Jon Smith", KEY)


def test_hex_chars_and_key_validation():
    k = PseudonymKey.from_tuple((1, b"k" * 32), hex_chars=32)
    assert len(pseudonym("ID", "42", k).split("_", 1)[1]) == 32
    for bad in [(1, b"short"), ("1", b"k" * 32), (-1, b"k" * 32), b"k" * 32, (1, "str-key" * 5)]:
        with pytest.raises(KeyAccessError):
            PseudonymKey.from_tuple(bad)  # type: ignore[arg-type]
    assert "kkkk" not in repr(KEY)


def test_normalize_phone_and_person():
    assert normalize("PHONE_NUMBER", "+44 20 7946 0958") == "442079460958"
    assert normalize("PERSON", "Dr. Smith, Anna-Lena") == "anna lena smith"
    assert normalize("PERSON", "John Smith, Jr.") == "john smith"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-03-04", dt.date(2021, 3, 4)),
        ("2021-03-04T10:22:00Z", dt.date(2021, 3, 4)),
        ("03/04/2021", dt.date(2021, 3, 4)),
        ("25/04/2021", dt.date(2021, 4, 25)),
        ("04.03.2021", dt.date(2021, 3, 4)),
        ("March 4, 2021", dt.date(2021, 3, 4)),
        ("4th of March 2021", dt.date(2021, 3, 4)),
        ("4-Mar-2021", dt.date(2021, 3, 4)),
        ("Mar 2021", dt.date(2021, 3, 1)),
        ("20210304", dt.date(2021, 3, 4)),
        ("not a date", None),
        ("2021-02-30", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_generalizers():
    assert generalize_age("37", 10, 90) == "30-39"
    assert generalize_age(89, 10, 90) == "80-89"
    assert generalize_age("93", 10, 90) == "90+"
    assert generalize_age("85", 5, 90) == "85-89"
    assert generalize_age("abc", 10, 90) is None
    assert generalize_date("1984-03-02", "year") == "1984"
    assert generalize_date("March 2, 1984", "month") == "1984-03"
    assert generalize_zip("02139-4307", 3) == "021"
    assert generalize_zip(2139, 3) == "021"  # a ZIP read as a number
    assert generalize_zip("SW1A 1AA", 3) == "SW1A"
    assert mask("4111-1111-1111-1234", 4, "*") == "****-****-****-1234"
    assert mask("AB123", 0, "#") == "#####"


@settings(max_examples=200, deadline=None)
@given(
    person=st.text(min_size=1, max_size=30),
    a=st.dates(dt.date(1900, 1, 1), dt.date(2090, 1, 1)),
    b=st.dates(dt.date(1900, 1, 1), dt.date(2090, 1, 1)),
)
def test_date_shift_keeps_intervals_per_person(person, a, b):
    token = pseudonym("PERSON", person, KEY)
    days = date_offset_days(token, KEY, 365)
    assert 1 <= abs(days) <= 365
    sa, sb = shift_date(a.isoformat(), days), shift_date(b.isoformat(), days)
    assert sa is not None and sb is not None
    assert dt.date.fromisoformat(sb) - dt.date.fromisoformat(sa) == b - a


def test_date_shift_differs_between_people_and_keys():
    offsets = {date_offset_days(pseudonym("PERSON", f"p{i}", KEY), KEY, 365) for i in range(50)}
    assert len(offsets) > 30
    t = pseudonym("PERSON", "x", KEY)
    assert date_offset_days(t, KEY, 3650) != date_offset_days(t, OTHER, 3650)


def test_cell_transform_actions():
    def run(entity, transform, values, person=None):
        ct = CellTransform(entity, Transform.model_validate(transform), KEY)
        return [ct(v, person) for v in values], ct

    out, _ = run("PERSON", "pseudonymize", ["John Smith", None, "", "SMITH, JOHN"])
    assert out[0] == out[3] and out[0].startswith("PERSON_") and out[1] is None and out[2] is None
    assert run("X", "replace", ["a"])[0] == ["<X>"]
    assert run("X", {"action": "replace", "tag": "[gone]"}, ["a"])[0] == ["[gone]"]
    assert run("X", "redact", ["a"])[0] == [None]
    assert run("X", "keep", ["a", None])[0] == ["a", None]
    out, ct = run("AGE", {"action": "generalize", "band": 5}, ["42", "old"])
    assert out == ["40-44", None] and ct.unparseable == 1
    token = pseudonym("PERSON", "Jane Roe", KEY)
    out, ct = run("DATE", "date_shift", ["2020-01-01", "2020-01-11"], token)
    d0, d1 = (dt.date.fromisoformat(x) for x in out)
    assert (d1 - d0).days == 10 and d0 != dt.date(2020, 1, 1)
    out, ct = run("DATE", "date_shift", ["2020-01-01"], None)  # no person -> null, counted
    assert out == [None] and ct.unparseable == 1


# ------------------------------------------------------------------------------- policy


def test_shipped_policy_copies_identical_and_valid():
    repo, package = shipped_policy_paths()
    assert repo.is_file() and package.is_file()
    assert repo.read_bytes() == package.read_bytes()
    policy = load_policy()
    # the default is the Safe Harbor profile: identifier columns removed, no pseudonyms
    assert policy.profile == "safe-harbor" and policy.keeps == []
    assert policy.transform_for("direct", "PERSON").action == "drop"
    assert policy.transform_for("direct", "NEVER_SEEN").action == "drop"  # default
    assert policy.transform_for("quasi", "GEO").action == "drop"
    assert policy.transform_for("quasi", "REGION").action == "keep"
    assert policy.transform_for("quasi", "ZIP").restricted_zip3
    assert policy.transform_for("quasi", "BIRTH_DATE").top == 90
    assert policy.text_transform("PERSON").action == "replace"
    assert policy.transform_for("quasi", "AGE").band == 10
    pseudo = load_policy("pseudonymous")
    assert pseudo.profile == "pseudonymous" and pseudo.keeps
    assert pseudo.transform_for("direct", "PERSON").action == "pseudonymize"
    assert pseudo.transform_for("direct", "NEVER_SEEN").action == "replace"
    assert pseudo.transform_for("quasi", "GEO").action == "keep"
    repo_p = ROOT / "policies" / "deid-pseudonymous.yaml"
    pkg_p = ROOT / "privtrain" / "deid" / "profiles" / "deid-pseudonymous.yaml"
    assert repo_p.read_bytes() == pkg_p.read_bytes()
    assert policy.transform_for("free_text", None).action == "scrub"
    assert policy.text_transform("DATE_TIME").action == "generalize"
    assert policy.detection.phone_regions[0] == "US"
    assert load_policy(package) == policy.model_copy(update={"source": str(package)})


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("version: 1\ndirect_identifiers: {PERSON: explode}\n", "direct_identifiers"),
        ("version: 1\ndirect_identifiers: {PERSON: generalize}\n", "generalize applies"),
        ("version: 1\ndetection: {phone_regions: [XX]}\n", "unknown phone region"),
        ("version: 2\n", "version"),
        ("- a list\n", "mapping"),
        ("version: 1\nbogus: 1\n", "bogus"),
        ("version: [1\n", "not valid YAML"),
    ],
)
def test_invalid_policy_is_config_error_naming_file(tmp_path: Path, body, match):
    p = tmp_path / "deid.yaml"
    p.write_text(body)
    with pytest.raises(ConfigError, match=match) as ei:
        load_policy(p)
    assert str(p) in str(ei.value)


def test_missing_policy_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_policy(tmp_path / "nope.yaml")
