"""collect: lm_eval output directories -> tidy tables (hand-written files in lm_eval's layout)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lm_eval_scaling.cli import main
from lm_eval_scaling.collect import collect_tables, write_tables
from lm_eval_scaling.collect.load import load_tables
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.tables.schema import read_counts, read_gold
from tests.support import DATE, task_config, write_run


def counts_line(pid: int, n: int, c: int, prompt: str = "p") -> dict[str, Any]:
    return {"doc_id": pid, "doc": {"question": "q", "problem_id": pid},
            "resps": [["x" * 10] * n], "filtered_resps": [["1"] * n],
            "prompt_hash": f"{prompt}{pid}", "num_samples": n, "num_correct": c,
            "pass@1": c / n if n else 0.0}


def gold_line(pid: int, lp: float, nbytes: int = 40) -> dict[str, Any]:
    return {"doc_id": pid, "doc": {"problem_id": pid}, "prompt_hash": f"p{pid}",
            "gold_logprob": lp, "gold_bytes": nbytes, "gold_nll": -lp}


def _gold_config(task: str) -> dict[str, Any]:
    return task_config(task, output_type="loglikelihood", generation_kwargs=None)


def test_counts_and_gold_tables(tmp_path: Path) -> None:
    write_run(tmp_path, {"gsm8k_passk": [counts_line(0, 4, 1), counts_line(1, 4, 0)],
                         "gsm8k_gold_loglik": [gold_line(0, -50.5), gold_line(1, -70.0, 55)]},
              configs={"gsm8k_passk": task_config("gsm8k_passk"),
                       "gsm8k_gold_loglik": _gold_config("gsm8k_gold_loglik")},
              model_args={"pretrained": "EleutherAI/pythia-1b", "revision": "step143000"})
    result = collect_tables([tmp_path])
    expected = pd.DataFrame({
        "model": ["EleutherAI/pythia-1b"] * 2, "revision": ["step143000"] * 2,
        "task": ["gsm8k_passk"] * 2, "problem_id": ["0", "1"], "num_samples": [4, 4],
        "num_correct": [1, 0]})
    pd.testing.assert_frame_equal(result.counts, read_counts(expected))
    assert result.gold["gold_logprob"].tolist() == [-50.5, -70.0]
    assert result.gold["gold_bytes"].tolist() == [40, 55]
    assert set(result.runs["kind"]) == {"counts", "gold"}
    assert result.warnings == ()


def test_chunks_with_different_seeds_sum(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {"t": [counts_line(0, 4, 1), counts_line(1, 4, 4)]}, seed=(1, 1, 1))
    write_run(tmp_path / "b", {"t": [counts_line(0, 100, 7), counts_line(2, 100, 0)]},
              seed=(2, 2, 2), date="2025-02-02T03-04-05.1")
    counts = collect_tables([tmp_path]).counts.set_index("problem_id")
    assert counts.loc["0", ["num_samples", "num_correct"]].tolist() == [104, 8]
    assert counts.loc["1", ["num_samples", "num_correct"]].tolist() == [4, 4]
    assert counts.loc["2", ["num_samples", "num_correct"]].tolist() == [100, 0]


def test_same_seed_twice_is_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", {"t": [counts_line(0, 4, 1)]})
    b = write_run(tmp_path / "b", {"t": [counts_line(0, 4, 1), counts_line(1, 4, 1)]})
    with pytest.raises(InputError, match="same seeds") as info:
        collect_tables([tmp_path])
    assert str(a.parent / f"samples_t_{DATE}.jsonl") in str(info.value)
    assert str(b.parent / f"samples_t_{DATE}.jsonl") in str(info.value)


def test_vllm_seed_in_model_args_distinguishes_chunks(tmp_path: Path) -> None:
    for i in (1, 2):
        write_run(tmp_path / f"c{i}", {"t": [counts_line(0, 4, i)]}, backend="vllm",
                  model_revision=None, model_args={"pretrained": "m", "seed": i})
    assert collect_tables([tmp_path]).counts["num_correct"].tolist() == [3]


def test_same_seed_disjoint_problems_is_a_union(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {"t": [counts_line(0, 4, 1)]})
    write_run(tmp_path / "b", {"t": [counts_line(1, 4, 2)]})
    assert collect_tables([tmp_path]).counts["num_correct"].tolist() == [1, 2]


def test_the_same_file_reached_twice_is_read_once(tmp_path: Path) -> None:
    write_run(tmp_path, {"t": [counts_line(0, 4, 1)]})
    counts = collect_tables([tmp_path, tmp_path / "model_dir"]).counts
    assert counts["num_samples"].tolist() == [4]


@pytest.mark.parametrize(("override", "setting"), [
    ({"generation_kwargs": {"until": ["\n\n"], "do_sample": True, "temperature": 0.7,
                            "max_gen_toks": 256}}, "generation_kwargs"),
    ({"num_fewshot": 8}, "num_fewshot"),
    ({"metadata": {"version": 2.0}}, "metadata.version"),
    ({"doc_to_text": "def other_prompt..."}, "doc_to_text"),
])
def test_differing_settings_are_refused(tmp_path: Path, override: dict[str, Any],
                                        setting: str) -> None:
    a = write_run(tmp_path / "a", {"t": [counts_line(0, 4, 1)]}, seed=(1, 1, 1))
    b = write_run(tmp_path / "b", {"t": [counts_line(0, 4, 1)]}, seed=(2, 2, 2),
                  configs={"t": task_config("t", **override)})
    with pytest.raises(InputError, match=f"setting '{setting}'") as info:
        collect_tables([tmp_path])
    assert str(a) in str(info.value) and str(b) in str(info.value)


def test_n_samples_and_model_args_may_differ_between_chunks(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {"t": [counts_line(0, 4, 1)]}, seed=(1, 1, 1))
    cfg = task_config("t", repeats=1000, metadata={"version": 1.0, "n_samples": 1000,
                                                   "batch_size": 64})
    write_run(tmp_path / "b", {"t": [counts_line(0, 1000, 9)]}, seed=(2, 2, 2), configs={"t": cfg})
    assert collect_tables([tmp_path]).counts["num_samples"].tolist() == [1004]


def test_differing_prompt_hash_is_refused(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {"t": [counts_line(0, 4, 1)]}, seed=(1, 1, 1))
    write_run(tmp_path / "b", {"t": [counts_line(0, 4, 1, prompt="other")]}, seed=(2, 2, 2))
    with pytest.raises(InputError, match="prompt differs"):
        collect_tables([tmp_path])


def test_truncated_last_line_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tail = json.dumps(counts_line(2, 4, 4))[:-25]
    write_run(tmp_path, {"t": [counts_line(0, 4, 1), counts_line(1, 4, 2)]},
              raw_tail={"t": tail})
    with caplog.at_level(logging.WARNING):
        result = collect_tables([tmp_path])
    assert result.counts["problem_id"].tolist() == ["0", "1"]
    assert len(result.warnings) == 1 and "line 3" in result.warnings[0]
    assert "truncated" in caplog.text


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    run = write_run(tmp_path, {"t": [counts_line(0, 4, 1)]}).parent
    path = run / f"samples_t_{DATE}.jsonl"
    path.write_text(path.read_text() + "{broken\n" + json.dumps(counts_line(1, 4, 1)) + "\n")
    with pytest.raises(InputError, match=r"samples_t_.*\.jsonl: line 2: not valid JSON"):
        collect_tables([tmp_path])


@pytest.mark.parametrize(("line", "message"), [
    ({**counts_line(0, 4, 1), "num_correct": 5}, r"line 1: field 'num_correct' \(5\) exceeds"),
    ({**counts_line(0, 4, 1), "num_samples": -1}, r"line 1: field 'num_samples' .*-1"),
    ({**counts_line(0, 4, 1), "num_samples": "4"}, r"field 'num_samples' .*'4'"),
    ({k: v for k, v in counts_line(0, 4, 1).items() if k not in ("doc", "doc_id")},
     "no field 'doc.problem_id'"),
    ({**gold_line(0, -1.0), "gold_logprob": 0.5}, r"'gold_logprob' must be <= 0"),
])
def test_bad_fields_name_file_line_field_value(tmp_path: Path, line: dict[str, Any],
                                               message: str) -> None:
    write_run(tmp_path, {"t": [line]})
    with pytest.raises(InputError, match=message) as info:
        collect_tables([tmp_path])
    assert "samples_t_" in str(info.value)


def test_duplicate_problem_in_one_file_is_an_error(tmp_path: Path) -> None:
    write_run(tmp_path, {"t": [counts_line(0, 4, 1), counts_line(0, 4, 1)]})
    with pytest.raises(InputError, match="appears twice"):
        collect_tables([tmp_path])


def test_gold_from_two_runs_kept_once_or_refused(tmp_path: Path) -> None:
    cfg = {"g": _gold_config("g")}
    write_run(tmp_path / "a", {"g": [gold_line(0, -100.0)]}, configs=cfg, seed=(1, 1, 1))
    write_run(tmp_path / "b", {"g": [gold_line(0, -100.01)]}, configs=cfg, seed=(2, 2, 2))
    assert collect_tables([tmp_path]).gold["gold_logprob"].tolist() == [-100.0]
    write_run(tmp_path / "c", {"g": [gold_line(0, -90.0)]}, configs=cfg, seed=(3, 3, 3))
    with pytest.raises(InputError, match="disagree"):
        collect_tables([tmp_path])


@pytest.mark.parametrize(("model_args", "model_revision", "expected"), [
    ("pretrained=EleutherAI/pythia-70m,revision=step1000,dtype=float16", "step1000",
     ("EleutherAI/pythia-70m", "step1000")),
    ({"pretrained": "EleutherAI/pythia-70m"}, "main", ("EleutherAI/pythia-70m", "")),
    ({"pretrained": "m", "revision": "main"}, "main", ("m", "main")),
    ({"pretrained": "m"}, "abc123", ("m", "abc123")),
    ({"pretrained": "m"}, None, ("m", "")),
])
def test_model_and_revision(tmp_path: Path, model_args: Any, model_revision: str | None,
                            expected: tuple[str, str]) -> None:
    write_run(tmp_path, {"t": [counts_line(0, 4, 1)]}, model_args=model_args,
              model_revision=model_revision)
    counts = collect_tables([tmp_path]).counts
    assert (counts.loc[0, "model"], counts.loc[0, "revision"]) == expected


def test_strip_prefixes(tmp_path: Path) -> None:
    write_run(tmp_path, {"t": [counts_line(0, 4, 1)]},
              model_args={"pretrained": "/data/ckpts/s1/step100"})
    counts = collect_tables([tmp_path], strip_prefixes=["/data/ckpts/"]).counts
    assert counts.loc[0, "model"] == "s1/step100"


def test_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        collect_tables([tmp_path / "nope"])
    with pytest.raises(InputError, match="no lm_eval results file"):
        collect_tables([tmp_path])
    run = write_run(tmp_path, {"t": [counts_line(0, 4, 1)]}).parent
    (run / f"samples_t_{DATE}.jsonl").unlink()
    with pytest.raises(InputError, match="--log_samples"):
        collect_tables([tmp_path])
    with pytest.raises(InputError, match="no run directory"):
        collect_tables([])


def test_write_tables_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "runs", {"t": [counts_line(0, 4, 1)], "g": [gold_line(0, -3.0)]},
              configs={"t": task_config("t"), "g": _gold_config("g")})
    out = tmp_path / "tables"
    assert main(["collect", str(tmp_path / "runs"), "-o", str(out)]) == 0
    assert "counts:" in capsys.readouterr().out
    assert read_counts(out / "counts.csv")["num_correct"].tolist() == [1]
    assert read_gold(out / "gold.csv")["gold_logprob"].tolist() == [-3.0]
    assert (out / "runs.csv").is_file()
    assert main(["collect", str(tmp_path / "nothing"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    paths = write_tables(collect_tables([tmp_path / "runs"]), tmp_path / "t2")
    assert set(paths) == {"counts", "gold", "runs"}


def test_load_tables_reads_run_directories(tmp_path: Path) -> None:
    write_run(tmp_path, {"t": [counts_line(0, 4, 1)]})
    assert load_tables([tmp_path])[0]["num_correct"].tolist() == [1]


def test_inputs_are_not_modified(tmp_path: Path) -> None:
    run = write_run(tmp_path, {"t": [counts_line(0, 4, 1)]}).parent
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    collect_tables([tmp_path])
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_results_file_given_directly(tmp_path: Path) -> None:
    path = write_run(tmp_path, {"t": [counts_line(0, 4, 1)]})
    assert collect_tables([path]).counts["num_samples"].tolist() == [4]
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="not an lm_eval results file"):
        collect_tables([other])


# --------------------------------------------------------------------------- data path


def test_callables_compare_by_name_not_address(tmp_path: Path) -> None:
    """lm_eval writes ``<function f at 0x7f...>``: the address differs per process."""
    for i, addr in enumerate(("0x7f00aa", "0x7f11bb")):
        cfg = task_config("t", process_docs=f"<function process_docs at {addr}>",
                           fewshot_config={"sampler": "first_n",
                                           "doc_to_text": f"<function doc_to_text at {addr}>"})
        write_run(tmp_path / f"c{i}", {"t": [counts_line(0, 4, 1 + i)]}, seed=(i, i, i),
                  configs={"t": cfg})
    result = collect_tables([tmp_path])
    assert result.counts["num_samples"].tolist() == [8]
    assert result.counts["num_correct"].tolist() == [3]
    # a different function is still a different setting
    cfg = task_config("t", process_docs="<function other_docs at 0x7f22cc>")
    write_run(tmp_path / "c9", {"t": [counts_line(1, 4, 1)]}, seed=(9, 9, 9), configs={"t": cfg})
    with pytest.raises(InputError, match="process_docs"):
        collect_tables([tmp_path])


@pytest.mark.parametrize("damage", ["missing", "directory", "dangling"])
def test_a_chunk_without_its_samples_file_is_an_error(tmp_path: Path, damage: str) -> None:
    write_run(tmp_path / "a", {"t": [counts_line(0, 8, 1), counts_line(1, 8, 2)]}, seed=(1, 1, 1))
    run = write_run(tmp_path / "b", {"t": [counts_line(0, 8, 1)]}, seed=(2, 2, 2)).parent
    samples = run / f"samples_t_{DATE}.jsonl"
    samples.unlink()
    if damage == "directory":
        samples.mkdir()
    elif damage == "dangling":
        samples.symlink_to(tmp_path / "gone.jsonl")
    with pytest.raises(InputError, match="no samples file"):
        collect_tables([tmp_path])


def test_input_without_rows_is_an_error(tmp_path: Path) -> None:
    write_run(tmp_path, {"t": []})
    with pytest.raises(InputError, match="no counts and no gold rows"):
        collect_tables([tmp_path])
    assert main(["collect", str(tmp_path), "-o", str(tmp_path / "out")]) == 2


def test_limit_runs_are_flagged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_run(tmp_path, {"t": [counts_line(0, 4, 1)]})
    data = json.loads(path.read_text())
    data["config"]["limit"] = 3
    path.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        result = collect_tables([tmp_path])
    assert result.runs["limit"].tolist() == ["3"]
    assert any("--limit 3" in w for w in result.warnings)
    assert "--limit 3" in caplog.text


def test_run_defining_metadata_includes_arith_mix(tmp_path: Path) -> None:
    for i, mix in enumerate(("wide", "v2")):
        cfg = task_config("t", metadata={"version": 2.0, "arith_mix": mix})
        write_run(tmp_path / f"c{i}", {"t": [counts_line(i, 4, 1)]}, seed=(i, i, i),
                  configs={"t": cfg})
    with pytest.raises(InputError, match="arith_mix"):
        collect_tables([tmp_path])


def test_collect_output_dir_keeps_foreign_files(tmp_path: Path) -> None:
    write_run(tmp_path / "runs", {"t": [counts_line(0, 4, 1)]})
    out = tmp_path / "tables"
    out.mkdir()
    mine = out / "counts.csv"
    mine.write_text("model,problem_id,num_samples,num_correct\nmy,1,10,3\n")
    assert main(["collect", str(tmp_path / "runs"), "-o", str(out)]) == 2
    assert mine.read_text().startswith("model,problem_id,num_samples,num_correct\nmy,1")
    assert not (out / "runs.csv").exists()
    # its own earlier output is replaced without --force; a foreign one with --force
    assert main(["collect", str(tmp_path / "runs"), "-o", str(out), "--force"]) == 0
    assert main(["collect", str(tmp_path / "runs"), "-o", str(out)]) == 0
    assert read_counts(mine)["num_samples"].tolist() == [4]


@pytest.mark.slow
def test_two_lm_eval_processes_merge(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The README's long-run recipe: two chunks, two separate ``lm_eval`` processes."""
    import os
    import subprocess
    import sys

    pytest.importorskip("lm_eval")
    from lm_eval_scaling.harness import tasks_dir

    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    for seed in (1, 2):
        cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf",
               "--model_args", f"pretrained={tiny_model_dir},dtype=float32", "--device", "cpu",
               "--include_path", str(tasks_dir()), "--tasks", "arith_passk",
               "--limit", "2", "--batch_size", "8", "--seed", str(seed),
               "--metadata", json.dumps({"n_samples": 2, "max_gen_toks": 8}),
               "--log_samples", "--output_path", str(tmp_path / f"chunk{seed}")]
        proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    result = collect_tables([tmp_path])
    assert len(result.counts) == 2
    assert result.counts["num_samples"].tolist() == [4, 4]
    assert result.runs["limit"].tolist() == ["2", "2"]
