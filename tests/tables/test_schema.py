"""Validation of the tidy tables: every bad input names file, row, field and value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.errors import TableError
from lm_eval_scaling.tables.schema import (
    COUNTS_KEY,
    concat_tables,
    read_counts,
    read_gold,
    read_ladder,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shared_pythia_tables_read(pythia_dir: Path) -> None:
    counts = read_counts(pythia_dir / "counts.csv")
    assert len(counts) == 10273
    assert counts["model"].nunique() == 81
    assert (counts["revision"] == "").all() and (counts["task"] == "").all()
    assert counts["num_samples"].dtype == np.int64
    ladder = read_ladder(pythia_dir / "ladder.csv")
    assert len(ladder) == 81
    # compute = 6 N D in float (int64 would overflow for 12B x 300B)
    row = ladder.set_index("model").loc["Pythia_12B_300B"]
    assert row["compute"] == pytest.approx(6.0 * 12e9 * 300e9, rel=0.05)
    assert ladder["compute"].dtype == np.float64
    gold = read_gold(pythia_dir / "gold.csv")
    assert gold["model"].nunique() == 9 and (gold["gold_logprob"] <= 0).all()


def test_counts_roundtrip_csv_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame({"model": ["a", "a", "b"], "problem_id": [1, 2, 1],
                       "num_samples": [10, 10, 5], "num_correct": [0, 3, 5]})
    df.to_parquet(tmp_path / "c.parquet")
    df.to_csv(tmp_path / "c.csv", index=False)
    a = read_counts(tmp_path / "c.parquet")
    b = read_counts(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["model", "revision", "task", "problem_id", "num_samples", "num_correct"]
    assert a["problem_id"].tolist() == ["1", "2", "1"]


def test_input_not_mutated() -> None:
    df = pd.DataFrame({"model": ["a"], "problem_id": [1], "num_samples": [10], "num_correct": [1]})
    before = df.copy()
    read_counts(df)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    "body,field,row,needle",
    [
        ("model,problem_id,num_samples\na,1,5\n", "num_correct", None, "missing required column"),
        ("model,problem_id,num_samples,num_correct\na,1,5,2\na,2,-1,0\n", "num_samples", 2, "-1"),
        ("model,problem_id,num_samples,num_correct\na,1,5,6\n", "num_correct", 1, "6"),
        ("model,problem_id,num_samples,num_correct\na,1,5,2\na,1,7,0\n", "model+revision+task+problem_id", 1,
         "also at row 2"),
        ("model,problem_id,num_samples,num_correct\na,1,5.5,2\n", "num_samples", 1, "5.5"),
        ("model,problem_id,num_samples,num_correct\na,1,five,2\n", "num_samples", 1, "five"),
        ("model,problem_id,num_samples,num_correct\n,1,5,2\n", "model", 1, "empty"),
    ],
)
def test_counts_errors_name_file_row_field_value(tmp_path: Path, body, field, row, needle) -> None:
    p = write(tmp_path, "bad.csv", body)
    with pytest.raises(TableError) as info:
        read_counts(p)
    err = info.value
    msg = str(err)
    assert str(p) in msg and needle in msg
    assert err.field == field and err.row == row


def test_same_problem_in_two_revisions_is_not_a_duplicate(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "model,revision,problem_id,num_samples,num_correct\n"
                                 "m,step1,1,5,0\nm,step2,1,5,1\n")
    assert len(read_counts(p)) == 2


def test_concat_refuses_double_counting(tmp_path: Path) -> None:
    body = "model,problem_id,num_samples,num_correct\na,1,5,2\n"
    a, b = write(tmp_path, "a.csv", body), write(tmp_path, "b.csv", body)
    frames = [(str(a), read_counts(a)), (str(b), read_counts(b))]
    with pytest.raises(TableError, match=r"a\.csv and .*b\.csv"):
        concat_tables(frames, COUNTS_KEY)


def test_ladder_compute_and_errors(tmp_path: Path) -> None:
    p = write(tmp_path, "l.csv", "model,parameters,tokens\nm,12000000000,300000000000\n")
    lad = read_ladder(p)
    assert lad["compute"].iloc[0] == 6.0 * 12e9 * 300e9
    p = write(tmp_path, "l2.csv", "model,parameters,tokens\nm,0,10\n")
    with pytest.raises(TableError, match="must be > 0") as info:
        read_ladder(p)
    assert info.value.field == "parameters" and info.value.row == 1
    p = write(tmp_path, "l3.csv", "model,revision,parameters,tokens\nm,s1,1,1\nm,s1,2,2\n")
    with pytest.raises(TableError, match="duplicate"):
        read_ladder(p)


def test_gold_errors(tmp_path: Path) -> None:
    p = write(tmp_path, "g.csv", "model,problem_id,gold_logprob\nm,1,-3.5\nm,2,0.5\n")
    with pytest.raises(TableError) as info:
        read_gold(p)
    assert info.value.row == 2 and info.value.field == "gold_logprob"
    p = write(tmp_path, "g2.csv", "model,problem_id,gold_logprob,gold_tokens\nm,1,-3.5,0\n")
    with pytest.raises(TableError, match="gold_tokens"):
        read_gold(p)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    from lm_eval_scaling.errors import InputError

    with pytest.raises(InputError, match="unknown table format"):
        read_counts(tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="no such file"):
        read_counts(tmp_path / "x.csv")
