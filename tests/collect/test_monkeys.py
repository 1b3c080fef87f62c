"""import monkeys (collect.monkeys): the public Large Language Monkeys pass@k parquet files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.cli import main
from lm_eval_scaling.collect.monkeys import import_monkeys, pythia_checkpoint
from lm_eval_scaling.errors import TableError
from lm_eval_scaling.tables.ladder import PYTHIA_SIZES, PYTHIA_TOKENS_PER_STEP

KS = (1, 2, 4, 8, 16)


def write_monkeys(path: Path, problems: dict[tuple[str, int], tuple[int, int]]) -> Path:
    """A parquet in the published format: one row per (nickname, prompt_idx, k)."""
    rows = []
    for (nick, idx), (n, c) in problems.items():
        for k in KS:
            passk = 1 - math.comb(n - c, k) / math.comb(n, k) if k <= n else np.nan
            rows.append({"Model Nickname": nick, "prompt_idx": idx, "Num. Samples": n,
                         "Num. Samples Correct": float(c), "Inference Compute": 1e12 * k,
                         "k": k, "pass@k": passk,
                         "neg_log_pass@k": -math.log(passk) if passk > 0 else math.inf})
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def test_counts_and_ladder_from_a_small_file(tmp_path: Path) -> None:
    path = write_monkeys(tmp_path / "math_pass_at_k.parquet", {
        ("Pythia_1.4B_200B", 7): (128, 5), ("Pythia_1.4B_200B", 3): (10112, 43),
        ("Pythia_70M_300B", 7): (128, 0), ("Llama_3_8B", 7): (100, 20)})
    result = import_monkeys(path)
    counts = result.counts
    assert set(counts["task"]) == {"math"}
    got = {(m, r, p): (n, c) for m, r, p, n, c in counts[
        ["model", "revision", "problem_id", "num_samples", "num_correct"]].itertuples(index=False)}
    assert got == {("EleutherAI/pythia-1.4b", "step100000", "3"): (10112, 43),
                   ("EleutherAI/pythia-1.4b", "step100000", "7"): (128, 5),
                   ("EleutherAI/pythia-70m", "step143000", "7"): (128, 0),
                   ("Llama_3_8B", "", "7"): (100, 20)}
    assert result.unmatched == ("Llama_3_8B",)
    ladder = result.ladder.set_index("nickname")
    row = ladder.loc["Pythia_1.4B_200B"]
    assert row["parameters"] == PYTHIA_SIZES["1.4b"][0]
    assert row["non_embedding_parameters"] == PYTHIA_SIZES["1.4b"][1]
    assert row["tokens"] == 100_000 * PYTHIA_TOKENS_PER_STEP
    assert row["nominal_parameters"] == 1_400_000_000 and row["nominal_tokens"] == 200 * 10**9
    assert row["compute"] == pytest.approx(6.0 * row["parameters"] * row["tokens"])
    assert import_monkeys(path, task="minerva_math").counts["task"].unique().tolist() == [
        "minerva_math"]


@pytest.mark.parametrize(("nickname", "revision"), [
    ("Pythia_14M_2M", "step1"), ("Pythia_160M_64M", "step32"), ("Pythia_410M_512M", "step256"),
    ("Pythia_1B_2B", "step1000"), ("Pythia_2.8B_6B", "step3000"), ("Pythia_6.9B_20B", "step10000"),
    ("Pythia_12B_60B", "step30000"), ("Pythia_12B_200B", "step100000"),
    ("Pythia_12B_300B", "step143000"),
])
def test_nickname_tokens_to_revision(nickname: str, revision: str) -> None:
    checkpoint = pythia_checkpoint(nickname)
    assert checkpoint is not None and checkpoint.revision == revision


@pytest.mark.parametrize("nickname", ["Pythia_3B_2B", "Pythia_1B_7B", "GPT2_1B_2B", "Pythia_1B"])
def test_not_a_pythia_checkpoint(nickname: str) -> None:
    assert pythia_checkpoint(nickname) is None


def test_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    good = {("Pythia_1B_2B", 1): (10, 3)}
    path = write_monkeys(tmp_path / "x.parquet", good)
    df = pd.read_parquet(path)
    cases = [
        (df.drop(columns="prompt_idx"), "missing columns \\['prompt_idx'\\]"),
        (df.assign(**{"Num. Samples Correct": [3.5] * len(df)}),
         "row 1, field 'Num. Samples Correct': expected a whole number >= 0 \\(got 3.5\\)"),
        (df.assign(**{"Num. Samples Correct": [3.0] * 4 + [4.0]}),
         "row 5, field 'Num. Samples Correct': the counts of \\(Pythia_1B_2B, prompt_idx 1\\) differ"),
        (df.assign(**{"Num. Samples Correct": [11.0] * len(df)}), "row 1.*exceeds"),
        (df.assign(**{"Num. Samples": [np.nan] * len(df)}), "row 1, field 'Num. Samples'"),
        (df.assign(**{"Model Nickname": [None] * len(df)}), "row 1, field 'Model Nickname'"),
    ]
    for broken, message in cases:
        broken.to_parquet(tmp_path / "bad.parquet", index=False)
        with pytest.raises(TableError, match=message) as info:
            import_monkeys(tmp_path / "bad.parquet")
        assert "bad.parquet" in str(info.value)


def test_the_published_gsm8k_file_gives_the_pythia_tables(monkeys_gsm8k: Path,
                                                          pythia_dir: Path) -> None:
    """Oracle: the shared Pythia tables were made from this file (nickname as model,
    nominal parameters and tokens)."""
    result = import_monkeys(monkeys_gsm8k)
    assert result.unmatched == ()
    ladder = result.ladder.set_index("nickname")
    reference = pd.read_csv(pythia_dir / "ladder.csv").set_index("model")
    assert sorted(ladder.index) == sorted(reference.index)
    for column, ours in [("revision", "revision"), ("parameters", "nominal_parameters"),
                         ("tokens", "nominal_tokens"),
                         ("non_embedding_parameters", "non_embedding_parameters"),
                         ("hf_path", "model")]:
        assert (ladder.loc[reference.index, ours] == reference[column]).all(), column
    counts = result.counts.merge(
        result.ladder[["model", "revision", "nickname"]], on=["model", "revision"])
    ours = counts.set_index(["nickname", "problem_id"])[["num_samples", "num_correct"]]
    theirs = pd.read_csv(pythia_dir / "counts.csv", dtype={"problem_id": str}).set_index(
        ["model", "problem_id"])
    assert len(ours) == len(theirs) == 10273
    assert ours.sort_index().equals(theirs.sort_index())


def test_cli_writes_counts_and_ladder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_monkeys(tmp_path / "gsm8k_pass_at_k.parquet", {("Pythia_1B_2B", 1): (10, 3)})
    assert main(["import", "monkeys", str(path), "-o", str(tmp_path / "out")]) == 0
    counts = pd.read_csv(tmp_path / "out" / "counts.csv")
    assert counts.iloc[0].tolist() == ["EleutherAI/pythia-1b", "step1000", "gsm8k", 1, 10, 3]
    ladder = pd.read_csv(tmp_path / "out" / "ladder.csv")
    assert ladder["parameters"].dtype.kind == "i"  # exact integers in the file
    (tmp_path / "afile").write_text("")
    assert main(["import", "monkeys", str(path), "-o", str(tmp_path / "afile")]) == 2
    assert main(["import", "monkeys", str(tmp_path / "missing.parquet"), "-o",
                 str(tmp_path / "o")]) == 2
