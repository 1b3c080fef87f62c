"""``ladder run`` end to end (lm_eval_scaling.runs.execute): two tiny local checkpoints,
two chunks each, through the real lm_eval; a rerun does nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lm_eval_scaling.cli import main
from lm_eval_scaling.tables.schema import read_counts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ladder_csv(tiny_checkpoints: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ladder") / "ladder.csv"
    assert main(["ladder", "init", *map(str, tiny_checkpoints), "--tokens-per-step", "1000",
                 "-o", str(out)]) == 0
    return out


def _ladder_run(ladder: Path, out: Path) -> int:
    return main(["ladder", "run", str(ladder), "--tasks", "arith_passk", "--n-samples", "6",
                 "--chunks", "2", "--out", str(out), "--model-args", "dtype=float32",
                 "--metadata", '{"max_gen_toks": 8}',
                 "--lm-eval-args", "--limit 3 --device cpu --batch_size 6"])


def test_ladder_run_end_to_end_and_rerun_does_nothing(ladder_csv: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _ladder_run(ladder_csv, out) == 0
    assert "4 job(s) run, 0 already finished" in capsys.readouterr().out
    counts = read_counts(out / "tables" / "counts.csv")
    ladder = pd.read_csv(ladder_csv)
    assert set(counts["model"]) == set(ladder["model"])
    # 2 chunks x 3 samples, summed per problem: 6 samples of each of 3 problems
    assert sorted(counts.groupby("model")["problem_id"].count()) == [3, 3]
    assert (counts["num_samples"] == 6).all()
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert len(runs) == 4 and runs["seed"].nunique() == 2
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    assert _ladder_run(ladder_csv, out) == 0  # the same command again: nothing to sample
    assert "0 job(s) run, 4 already finished" in capsys.readouterr().out
    assert read_counts(out / "tables" / "counts.csv").equals(counts)
    changed = {p for p, t in before.items() if p.stat().st_mtime_ns != t}
    assert {p.parent for p in changed} <= {out / "tables"}  # only the tables are rewritten
