"""`vae-explorer health` on the bundled model and its held-out faces."""

from __future__ import annotations

import json

import pytest

MODEL_AND_DATA = ("--model", "builtin:faces", "--data", "builtin:faces:test")


def test_health_prints_each_section_and_writes_the_figures_as_json(cli, tmp_path, held_out_faces_cached):
    out = tmp_path / "health.json"
    code, stdout, err = cli(
        "health", *MODEL_AND_DATA, "--iwae-k", "4", "--iwae-n", "8", "--device", "cpu", "--json", out
    )
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == "health of builtin:faces on builtin:faces:test"
    for start in ("active units    ", "KL per dim      ", "mutual info     ", "log-likelihood  IWAE (K = 4)"):
        assert any(line.startswith(start) for line in lines), start
    for start in ("aggregate q(z)  Gaussian-fit KL", "prior holes     ", "flags           "):
        assert any(line.startswith(start) for line in lines), start
    facts = json.loads(out.read_text())
    assert set(facts) >= {
        "model",
        "data",
        "seed",
        "points",
        "latent_dim",
        "active_units",
        "kl_per_dim",
        "mutual_information",
        "likelihood",
        "aggregate_posterior",
        "prior_holes",
        "flags",
    }
    d = facts["latent_dim"]
    assert facts["model"] == "builtin:faces" and facts["data"] == "builtin:faces:test" and facts["points"] == 2000
    assert (
        d == 16 and len(facts["kl_per_dim"]["values"]) == d and sorted(facts["kl_per_dim"]["order"]) == list(range(d))
    )
    units = facts["active_units"]
    assert units["count"] == len(units["active"]) and sorted(units["active"] + units["inactive"]) == list(range(d))
    assert f"active units    {units['count']} of {d} " in stdout
    # the figures agree with the cached encodings the command read
    kl = held_out_faces_cached.kl_per_dim()
    assert facts["kl_per_dim"]["values"] == pytest.approx(kl.tolist(), rel=1e-5)
    like = facts["likelihood"]
    assert like["k"] == 4 and like["images"] == 8
    assert like["iwae"]["mean"] >= like["elbo"]["mean"] and like["gap"]["mean"] >= 0 and like["iwae"]["se"] > 0
    assert 0 < facts["mutual_information"]["nats"] <= 7.7  # log 2000 = 7.6
    assert facts["aggregate_posterior"]["gaussian_kl"] > 0
    assert 0 <= facts["prior_holes"]["fraction"] <= 1 and facts["prior_holes"]["samples"] == 2000
    assert all(isinstance(f, str) for f in facts["flags"])


def test_health_is_deterministic_for_a_seed(cli, held_out_faces_cached):
    argv = ("health", *MODEL_AND_DATA, "--iwae-k", "2", "--iwae-n", "4", "--device", "cpu", "--seed", "3")
    first, second = cli(*argv), cli(*argv)
    assert first[0] == 0 and first[1] == second[1]


def test_iwae_n_0_skips_the_likelihood(cli, held_out_faces_cached):
    code, stdout, _ = cli("health", *MODEL_AND_DATA, "--iwae-n", "0", "--device", "cpu")
    assert code == 0 and "log-likelihood" not in stdout and "mutual info" in stdout


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--iwae-k", "0", "argument --iwae-k: must be at least 1, not 0"),
        ("--iwae-k", "-3", "argument --iwae-k: must be at least 1, not -3"),
        ("--iwae-k", "many", "argument --iwae-k: invalid int value: 'many'"),
        ("--iwae-n", "-1", "argument --iwae-n: must be at least 0, not -1"),
    ],
)
def test_a_bad_count_is_a_one_line_usage_error(cli, option, value, message):
    code, out, err = cli("health", *MODEL_AND_DATA, option, value)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "--help" in err
