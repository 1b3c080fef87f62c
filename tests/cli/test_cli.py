"""The command line, run in-process through main(argv)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_subcommands(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "passk" in out


def test_no_command_prints_help(capsys) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_passk_pythia_to_file(tmp_path: Path, pythia_dir: Path) -> None:
    out = tmp_path / "passk.csv"
    rc = main(["passk", str(pythia_dir / "counts.csv"), "--k", "1,10,100", "--bootstrap", "100", "-o", str(out)])
    assert rc == 0
    df = pd.read_csv(out)
    for col in ("model", "k", "pass_at_k", "neg_log_pass_at_k", "ci_low", "ci_high", "num_problems"):
        assert col in df.columns
    assert sorted(df["k"].unique()) == [1, 10, 100]
    assert df["model"].nunique() == 81


def test_passk_parquet_output_equals_python_api(tmp_path: Path) -> None:
    from lm_eval_scaling.passk.benchmark import passk_table
    from lm_eval_scaling.tables.schema import read_counts

    src = ROOT / "examples" / "simulated" / "counts.csv"
    out = tmp_path / "p.parquet"
    assert main(["passk", str(src), "--k", "1-3", "--seed", "5", "-o", str(out)]) == 0
    want = passk_table(read_counts(src), [1, 2, 3], seed=5)
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


def test_passk_stdout_is_readable(capsys) -> None:
    src = ROOT / "examples" / "simulated" / "counts.csv"
    assert main(["passk", str(src), "--k", "1", "--ci", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["checkpoint", "task", "k"]
    assert len(lines) == 1 + 16


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("model,problem_id,num_samples,num_correct\nm,1,3,4\n")
    assert main(["passk", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 1" in err and "num_correct" in err and "4" in err
    assert main(["passk", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_model_without_its_estimator_is_refused(capsys) -> None:
    src = str(ROOT / "examples" / "simulated" / "counts.csv")
    assert main(["passk", src, "--estimator", "pooled", "--model", "mixture", "--ci", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("model 'mixture' applies to estimator 'beta_binomial' only, "
                        "got estimator 'pooled'") and len(err.splitlines()) == 1


def test_bad_k_is_rejected(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["passk", "x.csv", "--k", "0,1"])
    assert "k values must be integers >= 1" in capsys.readouterr().err


def test_duplicate_inputs_refused(capsys) -> None:
    src = str(ROOT / "examples" / "simulated" / "counts.csv")
    assert main(["passk", src, src]) == 2
    assert "double count" in capsys.readouterr().err


def test_python_dash_m() -> None:
    proc = subprocess.run([sys.executable, "-m", "lm_eval_scaling", "--help"], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0 and "passk" in proc.stdout


def test_every_fitting_command_uses_the_gold_of_run_directories(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """INPUT directories go through one loader (collect/load.py load_tables): their
    counts and their gold task reach fit, backtest and envelope as they reach report."""
    import json

    from lm_eval_scaling import collect
    from lm_eval_scaling.tables.schema import read_counts, read_gold

    sim = ROOT / "examples" / "simulated"
    counts = read_counts(sim / "counts.csv")
    ladder = pd.read_csv(sim / "ladder.csv")
    compute = 6.0 * ladder["parameters"] * ladder["tokens"]
    gold = read_gold(pd.DataFrame(
        [{"model": m, "revision": r, "task": "simulated", "problem_id": str(i),
          "gold_logprob": -(5.0 + 400.0 * c ** -0.1) * (1 + 0.01 * i)}
         for m, r, c in zip(ladder["model"], ladder["revision"], compute) for i in range(20)]))
    calls = []

    def fake(run_dirs, **kw):
        calls.append([str(d) for d in run_dirs])
        return collect.CollectResult(counts=counts, gold=gold, runs=pd.DataFrame())

    monkeypatch.setattr(collect, "collect_tables", fake)
    runs = [tmp_path / "run1", tmp_path / "run2"]
    for run in runs:
        run.mkdir()
    lad = ["--ladder", str(sim / "ladder.csv")]
    out = tmp_path / "fits.json"
    assert main(["fit", *map(str, runs), *lad, "--law", "gold", "--k", "1", "-o", str(out)]) == 0
    assert calls == [[str(r) for r in runs]]  # the directories are read together, once
    assert [f["law"] for f in json.loads(out.read_text())] == ["gold"]
    assert main(["backtest", str(runs[0]), *lad, "--k", "1", "--jobs", "1"]) == 0
    assert "gold" in capsys.readouterr().out  # the default laws include gold with gold tables
    assert main(["envelope", str(runs[0]), *lad, "--k", "1"]) == 0


def test_passk_estimator_flags(tmp_path: Path) -> None:
    from lm_eval_scaling.passk.benchmark import passk_table
    from lm_eval_scaling.tables.schema import read_counts

    src = ROOT / "examples" / "simulated" / "counts.csv"
    counts = read_counts(src)
    one = counts[counts["model"] == counts["model"].iloc[0]]
    path = tmp_path / "one.csv"
    one.to_csv(path, index=False)
    k_big = int(one["num_samples"].max()) * 4
    out = tmp_path / "p.csv"
    assert main(["passk", str(path), "--k", f"1,{k_big}", "--estimator", "beta_binomial",
                 "--model", "beta_binomial", "--bootstrap", "20", "--hierarchical", "-o", str(out)]) == 0
    got = pd.read_csv(out, keep_default_na=False)
    want = passk_table(read_counts(path), [1, k_big], n_boot=20, estimator="beta_binomial",
                       model="beta_binomial", hierarchical=True)
    assert got["source"].tolist() == want["source"].tolist()
    assert set(got.loc[got["k"] == 1, "source"]) == {"unbiased"}
    assert set(got.loc[got["k"] == k_big, "source"]) <= {"beta_binomial", "not_resolved"}
    np.testing.assert_allclose(pd.to_numeric(got["pass_at_k"]), want["pass_at_k"], rtol=1e-12)
    assert (got["num_problems_excluded"] == 0).all()


def test_passk_rows_by_compute_with_a_ladder(tmp_path: Path) -> None:
    import pandas as pd

    sim = Path(__file__).resolve().parents[2] / "examples" / "simulated"
    out = tmp_path / "p.csv"
    assert main(["passk", str(sim / "counts.csv"), "--ladder", str(sim / "ladder.csv"),
                 "--k", "1", "--ci", "0", "-o", str(out)]) == 0
    table = pd.read_csv(out)
    assert table["compute"].is_monotonic_increasing
    lexicographic = sorted(table["checkpoint"])
    assert table["checkpoint"].tolist() != lexicographic  # sim-10m sorts before sim-1m


def test_passk_pooled_estimator(tmp_path: Path) -> None:
    from lm_eval_scaling.passk.benchmark import passk_table
    from lm_eval_scaling.tables.schema import read_counts

    src = ROOT / "examples" / "simulated" / "counts.csv"
    counts = read_counts(src)
    k_big = int(counts["num_samples"].max()) * 4
    out = tmp_path / "p.csv"
    assert main(["passk", str(src), "--k", f"1,{k_big}", "--estimator", "pooled", "--ci", "0",
                 "-o", str(out)]) == 0
    got = pd.read_csv(out, keep_default_na=False)
    want = passk_table(counts, [1, k_big], ci=None, estimator="pooled")
    assert set(got.loc[got["k"] == 1, "source"]) == {"unbiased"}
    assert set(got.loc[got["k"] == k_big, "source"]) <= {"pooled", "not_resolved"}
    np.testing.assert_allclose(pd.to_numeric(got["pass_at_k"]), want["pass_at_k"], rtol=1e-12)
