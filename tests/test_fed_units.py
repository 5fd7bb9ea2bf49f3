"""Federated building blocks without Flower processes: HE aggregation and its key handling,
site policies, job parsing, and the k-local-DP-steps library call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from federated import he
from federated.job import Job
from federated.policy import DEFAULT_POLICY, SitePolicy
from privtrain.errors import ConfigError, IntegrityError, KeyAccessError

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"


def _updates(seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    shapes = {"0.weight": (64, 108), "0.bias": (64,), "2.weight": (2, 64), "2.bias": (2,)}
    return [
        {k: rng.normal(0, 0.3, s).astype(np.float32) for k, s in shapes.items()} for _ in range(3)
    ]


@pytest.fixture(scope="module")
def ctx():  # noqa: ANN201
    return he.new_secret_context()


def test_he_sum_matches_plaintext_fedavg(ctx) -> None:  # noqa: ANN001
    ups = _updates()
    weights = [1.0, 2.0, 0.5]
    pub = he.load_public(he.public_bytes(ctx))
    # sites encrypt with the (symmetric) secret key; the server's context holds no key at all
    enc = [he.encrypt(ctx, he.pack(u, w)) for u, w in zip(ups, weights, strict=True)]
    with pytest.raises(KeyAccessError):
        he.encrypt(pub, he.pack(ups[0], 1.0))
    total = he.add(pub, enc)
    length = sum(v.size for v in ups[0].values()) + 1
    got = he.unpack(he.decrypt(ctx, total, length), ups[0])
    for k in ups[0]:
        want = sum(w * u[k].astype(np.float64) for u, w in zip(ups, weights, strict=True))
        want = want / sum(weights)
        rel = np.max(np.abs(got[k] - want)) / np.max(np.abs(want))
        assert rel < 1e-6, (k, rel)
    # full slot vectors, two values per complex slot: every parameter of every layer packed,
    # not one ciphertext per layer
    assert len(total) == he.n_chunks(length) == -(-length // 4096)


def test_he_ciphertext_size_is_4x_fp32(ctx) -> None:  # noqa: ANN001
    ups = _updates()[0]
    enc = he.encrypt(ctx, he.pack(ups, 1.0))
    n = sum(v.size for v in ups.values())
    ratio = sum(len(c) for c in enc) / (len(enc) * 4096 * 4)
    assert ratio < 4.1, ratio
    assert len(enc) == -(-(n + 1) // 4096)  # only the last ciphertext is padded


def test_he_refuses_malformed_or_foreign_ciphertexts(ctx) -> None:  # noqa: ANN001
    import tenseal as ts

    pub = he.load_public(he.public_bytes(ctx))
    up = he.pack(_updates()[0], 1.0)
    good = he.encrypt(ctx, up)
    for bad in (b"not a ciphertext", good[0][: len(good[0]) // 2]):
        with pytest.raises(IntegrityError, match="ciphertext 0"):
            he.add(pub, [good, [bad, *good[1:]]])
    with pytest.raises(IntegrityError, match="1 ciphertexts, expected 2"):
        he.decrypt(ctx, good[:1], len(up))
    # a ciphertext made under other parameters (N=8192) does not load under the federation's
    other = ts.context(
        ts.SCHEME_TYPE.CKKS,
        poly_modulus_degree=8192,
        coeff_mod_bit_sizes=[60, 40, 60],
        encryption_type=ts.ENCRYPTION_TYPE.SYMMETRIC,
    )
    other.global_scale = 2**40
    foreign = he.encrypt(other, up)
    with pytest.raises(IntegrityError, match="ciphertext 0"):
        he.add(pub, [[foreign[0], *good[1:]], good])
    # ciphertexts are malleable (integrity comes from TLS and SuperNode authentication): a
    # flipped byte is still a ciphertext, of another plaintext
    flipped = bytearray(good[0])
    flipped[-100] ^= 0xFF
    assert len(he.add(pub, [good, [bytes(flipped), *good[1:]]])) == len(good)


def test_server_bytes_do_not_decrypt_or_contain_the_update(ctx) -> None:  # noqa: ANN001
    up = _updates()[0]
    sent = he.encrypt(ctx, he.pack(up, 1.0))
    server = he.load_public(he.public_bytes(ctx))
    assert len(he.add(server, [sent])) == len(sent)  # the server can read and add them ...
    with pytest.raises(KeyAccessError):  # ... but holds no key to decrypt them
        he.decrypt(server, sent, len(he.pack(up, 1.0)))
    with pytest.raises(ValueError):
        server.secret_key()
    blob = b"".join(sent)
    flat32 = np.concatenate([v.ravel() for v in up.values()]).astype(np.float32)
    flat64 = he.pack(up, 1.0)
    for i in range(0, 200, 7):  # no 3-value run of the update, in either precision
        assert flat32[i : i + 3].tobytes() not in blob
        assert flat64[i : i + 2].tobytes() not in blob


def test_server_refuses_a_secret_context(ctx) -> None:  # noqa: ANN001
    with pytest.raises(KeyAccessError, match="secret key"):
        he.load_public(he.secret_bytes(ctx))
    with pytest.raises(IntegrityError):
        he.load_public(b"not a context")


def test_key_share_roundtrip_and_wrong_passphrase(ctx) -> None:  # noqa: ANN001
    secret = he.secret_bytes(ctx)
    share = he.export_share("fed-1", secret, "correct horse battery")
    assert secret not in share
    fed, got = he.import_share(share, "correct horse battery")
    assert (fed, got) == ("fed-1", secret)
    with pytest.raises(KeyAccessError):
        he.import_share(share, "wrong passphrase!!")
    tampered = share[:-1] + bytes([share[-1] ^ 1])
    with pytest.raises(KeyAccessError):
        he.import_share(tampered, "correct horse battery")


def test_secret_context_kept_encrypted_in_the_home(tmp_path: Path, ctx) -> None:  # noqa: ANN001
    from privtrain.config import load_settings
    from privtrain.workspace import Workspace

    ws = Workspace.init(load_settings(home=str(tmp_path / "h")), "pass-phrase-123")
    pub, sec = he.keygen(ws, "fed-a")
    raw = he.secret_path(ws, "fed-a").read_bytes()
    assert sec[:64] not in raw and sec[-64:] not in raw
    loaded = he.load_secret_from_home(ws, "fed-a")
    assert loaded.is_private() and he.public_bytes(loaded) == pub
    # tampering is detected
    p = he.secret_path(ws, "fed-a")
    p.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(IntegrityError):
        he.load_secret_from_home(ws, "fed-a")


# ---- site policy and job -----------------------------------------------------------------------


def test_default_site_policy_refusals() -> None:
    pol = SitePolicy.load(DEFAULT_POLICY)
    ok = Job(epsilon=1.0, aggregation="he", min_sites=3)
    assert pol.check(ok) is None
    cases = {
        "max_epsilon_per_job": Job(epsilon=50.0, aggregation="he", min_sites=3),
        "require_dp": Job(epsilon=None, aggregation="he", min_sites=3),
        "policy aggregation": Job(epsilon=1.0, aggregation="none", min_sites=3),
        "min_sites": Job(epsilon=1.0, aggregation="he", min_sites=2),
        "policy models": Job(epsilon=1.0, aggregation="he", min_sites=3, model="x.y:z"),
        "max_delta": Job(epsilon=1.0, aggregation="he", min_sites=3, delta=1e-3),
        "allow_noise_seed": Job(epsilon=1.0, aggregation="he", min_sites=3, noise_seed=7),
    }
    for field, job in cases.items():
        why = pol.check(job)
        assert why is not None and field in why, (field, why)
    assert "max_epsilon_total" in (pol.check(ok, epsilon_after=11.0) or "")


def test_site_policy_bad_file(tmp_path: Path) -> None:
    p = tmp_path / "site.yaml"
    p.write_text("max_epsilon_per_job: -1\n")
    with pytest.raises(ConfigError, match="max_epsilon_per_job"):
        SitePolicy.load(p)
    p.write_text("unknown_field: 1\n")
    with pytest.raises(ConfigError, match="unknown_field"):
        SitePolicy.load(p)


def test_job_from_run_config() -> None:
    job = Job.from_run_config(
        {"num-server-rounds": 2, "hidden": "32,16", "epsilon": -1.0, "aggregation": "secagg+"}
    )
    assert job.rounds == 2 and job.hidden == [32, 16] and not job.private
    assert Job.from_json(job.to_json()) == job
    with pytest.raises(ConfigError, match="unknown key 'bogus'"):
        Job.from_run_config({"bogus": 1})
    with pytest.raises(ConfigError, match="aggregation"):
        Job.from_run_config({"aggregation": "plain"})


# ---- k local DP steps ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adult() -> pa.Table:
    if not ADULT.exists():
        pytest.skip(f"{ADULT} not present")
    import pyarrow.csv as pacsv

    return pacsv.read_csv(ADULT).slice(0, 2000)


def test_local_steps_history_and_plan(adult: pa.Table) -> None:
    from privtrain.dp import TrainConfig, adult_feature_spec, epsilon_for
    from privtrain.dp._local import initial_weights, plan_local, train_local_steps

    spec = adult_feature_spec()
    cfg = TrainConfig(
        epsilon=1.0, batch_size=200, hidden=[8], noise_seed=3, validation_fraction=0.0
    )
    plan = plan_local(adult.num_rows, cfg, rounds=3, local_steps=4)
    assert plan.steps == 12
    w0 = initial_weights(spec.n_features, cfg, 2)
    kw = dict(
        target="class", features=spec, config=cfg, steps=4, noise_multiplier=plan.noise_multiplier
    )
    r1 = train_local_steps(adult, weights=w0, **kw)
    r2 = train_local_steps(adult, weights=w0, **kw)
    assert r1.history == [(plan.noise_multiplier, plan.sample_rate, 4)]
    assert list(r1.weights) == list(w0)
    assert all(np.array_equal(r1.weights[k], r2.weights[k]) for k in w0)  # seeded: same
    assert any(not np.allclose(r1.weights[k], w0[k]) for k in w0)  # it trained
    # three rounds of the local history compose to the planned (reserved) ε
    eps3 = epsilon_for(r1.history * 3, cfg.delta, "rdp")
    assert eps3 == pytest.approx(epsilon_for(plan.history, cfg.delta, "rdp"), rel=1e-9)
    with pytest.raises(Exception, match="noise multiplier"):
        train_local_steps(adult, weights=w0, **{**kw, "noise_multiplier": 0.0})


def test_cli_fed_local_bad_input_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "privtrain",
        "--home",
        str(tmp_path / "h"),
        "fed",
        "local",
        "--dataset",
        "adult",
        "--aggregation",
        "plain",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--aggregation" in lines[0] and "Traceback" not in p.stderr


# ---- warm ClientApp launcher ------------------------------------------------------------------


def test_warm_launcher_forks_runs_and_falls_back(tmp_path: Path) -> None:
    """The launcher forks a child per request that runs Flower's flwr-clientapp with the
    client's arguments (here `--help`: exit 0, output in the launcher's log); the exit status
    comes back; with no launcher listening the client runs the real flwr-clientapp."""
    import signal
    import subprocess
    import sys
    import time

    from federated import warm

    sock = tmp_path / "s" / "w.sock"
    fallback = tmp_path / "fallback.sh"
    fallback.write_text(f'#!/bin/sh\necho cold "$@" > {tmp_path / "cold.txt"}\nexit 3\n')
    fallback.chmod(0o755)
    client = warm.install(sock, tmp_path / "bin", real=str(fallback))
    # no launcher: the real program runs, its exit status is the client's
    p = subprocess.run([str(client), "--token", "x"], timeout=60)
    assert p.returncode == 3 and (tmp_path / "cold.txt").read_text().split() == [
        "cold",
        "--token",
        "x",
    ]
    log = open(tmp_path / "warm.log", "wb")  # noqa: SIM115
    code = (
        "from pathlib import Path; from federated.warm import serve; "
        f"serve(Path({str(sock)!r}), preload=('flwr.supernode.cli.flwr_clientapp',))"
    )
    srv = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            assert srv.poll() is None
            time.sleep(0.05)
        assert oct(sock.stat().st_mode & 0o777) == "0o600"
        assert oct(sock.parent.stat().st_mode & 0o777) == "0o700"
        p = subprocess.run([str(client), "--help"], timeout=60)
        assert p.returncode == 0
        p = subprocess.run([str(client), "--no-such-flag"], timeout=60)
        assert p.returncode == 2  # argparse's status, from the forked child
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=30)
        log.close()
    text = (tmp_path / "warm.log").read_text()
    assert "--runtime-api-address" in text and "flwr-clientapp: error" in text
    assert not sock.exists()


def test_fast_object_pulls_retries_an_unavailable_object_within_a_tenth_of_a_second() -> None:
    """Flower 1.42 retries an object that is not there yet after 1 s (measured: most of a
    ClientApp's pull of its message); after ``fast_object_pulls`` the first retry comes after
    0.05 s, through Flower's own ``pull_objects`` (and the function that wraps it)."""
    import time

    from flwr.supercore.inflatable import inflatable_utils as iu
    from flwr.supercore.inflatable.inflatable_utils import ObjectUnavailableError

    from federated.waits import fast_object_pulls

    saved = [
        (f, dict(f.__kwdefaults__)) for f in (iu.pull_objects, iu.pull_and_inflate_object_from_tree)
    ]

    def pull_once_missing() -> tuple[float, dict[str, bytes]]:
        seen: set[str] = set()

        def pull(obj_id: str) -> bytes:
            if obj_id not in seen:  # announced, not yet pushed
                seen.add(obj_id)
                raise ObjectUnavailableError(obj_id)
            return b"content"

        t0 = time.monotonic()
        out = iu.pull_objects(["a"], pull)
        return time.monotonic() - t0, out

    try:
        slow, out = pull_once_missing()
        assert out == {"a": b"content"} and slow >= 0.7  # Flower's 1 s (±20%)
        assert fast_object_pulls() is True
        fast, out = pull_once_missing()
        assert out == {"a": b"content"} and fast < 0.3
        assert iu.pull_and_inflate_object_from_tree.__kwdefaults__["initial_backoff"] == 0.05
        # Flower's other limits are untouched
        assert iu.pull_objects.__kwdefaults__["max_tries_per_object"] == 500
    finally:
        for f, kw in saved:
            f.__kwdefaults__ = kw


def test_supernode_poll_interval_bad_value_is_a_config_error(monkeypatch) -> None:  # noqa: ANN001
    from federated import supernode

    monkeypatch.setenv("PRIVTRAIN_SUPERNODE_POLL", "fast")
    with pytest.raises(ConfigError, match="PRIVTRAIN_SUPERNODE_POLL='fast'"):
        supernode.poll_interval()
    monkeypatch.setenv("PRIVTRAIN_SUPERNODE_POLL", "nan")
    with pytest.raises(ConfigError):
        supernode.poll_interval()
    monkeypatch.setenv("PRIVTRAIN_SUPERNODE_POLL", "10")
    assert supernode.poll_interval() == 3.0
    monkeypatch.delenv("PRIVTRAIN_SUPERNODE_POLL")
    assert supernode.poll_interval() == supernode.DEFAULT_POLL


def test_site_node_config_threads() -> None:
    from federated.site import SiteConfig

    base = {"site": "a", "home": "/h", "dataset": "d"}
    assert SiteConfig.from_node_config(base).threads is None
    assert SiteConfig.from_node_config({**base, "threads": 1}).threads == 1
    for bad in (0, "two", -3, 5000):
        with pytest.raises(ConfigError, match="threads must be an integer"):
            SiteConfig.from_node_config({**base, "threads": bad})


def test_ciphertexts_travel_as_two_arrays_and_bad_framing_is_refused(ctx) -> None:  # noqa: ANN001
    """A site's update (or the aggregate) is one ``sizes`` and one ``data`` array, whatever
    the number of ciphertexts (Flower sends one object per array); a record whose sizes do
    not add up, or with other arrays, is an IntegrityError naming it."""
    ups = _updates()
    chunks = he.encrypt(ctx, he.pack(ups[0], 1.0))
    framed = he.frame(chunks)
    assert sorted(framed) == ["data", "sizes"] and len(chunks) > 1
    assert he.unframe(framed, what="x") == chunks
    bad = {"sizes": framed["sizes"].copy(), "data": framed["data"]}
    bad["sizes"][0] += 1
    with pytest.raises(IntegrityError, match="HE update of site a: ciphertext sizes add up"):
        he.unframe(bad, what="HE update of site a")
    with pytest.raises(IntegrityError, match="expected arrays"):
        he.unframe({**framed, "extra": framed["sizes"]}, what="HE update")
    with pytest.raises(IntegrityError, match="uint64"):
        he.unframe({"sizes": framed["sizes"].astype(np.int64), "data": framed["data"]}, what="u")
    with pytest.raises(IntegrityError, match="empty"):
        he.unframe({"sizes": np.zeros(0, np.uint64), "data": framed["data"][:0]}, what="u")
