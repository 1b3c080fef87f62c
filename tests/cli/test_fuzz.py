"""Bad input, faults and edge cases driven through ``cli.main(argv)``.

Every case is classified; only ``ok`` passes.  The failure classes:

* ``exit0_wrong``   -- exit 0 (or a non-error exit) with a wrong or silently partial result;
* ``traceback``     -- an exception escaped ``main``, or the command hung (alarm);
* ``destroyed``     -- a file that existed before the run was changed or removed;
* ``refused_valid`` -- a valid run that was refused;
* ``bad_message``   -- the error message is not one line or misreports the value.

``pytest tests/cli/test_fuzz.py -q | grep -o '^E *AssertionError: FUZZ-CLASS [a-z_0-9]*' | sort | uniq -c``
counts each class.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lm_eval_scaling.cli import main

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "examples" / "simulated"
DATE = "2025-01-02T03-04-05.678901"
_ALARM_S = 60


# --------------------------------------------------------------------------- fixtures


def _counts(tmp: Path, rows: list[tuple[Any, ...]], name: str = "counts.csv",
            columns: tuple[str, ...] = ("model", "problem_id", "num_samples",
                                        "num_correct")) -> Path:
    path = tmp / name
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def _sim(tmp: Path) -> tuple[Path, Path]:
    counts, ladder = tmp / "counts.csv", tmp / "ladder.csv"
    counts.write_bytes((SIM / "counts.csv").read_bytes())
    ladder.write_bytes((SIM / "ladder.csv").read_bytes())
    return counts, ladder


def _run(root: Path, name: str, lines: list[dict[str, Any]], *, seed: int = 0,
         addr: str = "0x7f00", limit: int | None = None, samples: bool = True) -> Path:
    run = root / name
    run.mkdir(parents=True)
    cfg = {"task": "t", "output_type": "generate_until", "repeats": 4,
           "process_docs": f"<function process_docs at {addr}>",
           "generation_kwargs": {"do_sample": True, "temperature": 1.0},
           "metadata": {"version": 1.0}}
    config: dict[str, Any] = {"model": "hf", "model_args": {"pretrained": "org/m"},
                              "random_seed": seed, "numpy_seed": seed, "torch_seed": seed}
    if limit is not None:
        config["limit"] = limit
    (run / f"results_{DATE}.json").write_text(json.dumps(
        {"results": {"t": {}}, "configs": {"t": cfg}, "versions": {"t": 1.0},
         "config": config}))
    if samples:
        (run / f"samples_t_{DATE}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run


def _line(pid: int, n: int, c: int) -> dict[str, Any]:
    return {"doc_id": pid, "doc": {"problem_id": pid}, "prompt_hash": "h",
            "num_samples": n, "num_correct": c}


def _two_chunks(tmp: Path) -> Path:
    root = tmp / "runs"
    _run(root, "a", [_line(0, 4, 1), _line(1, 4, 2)], seed=1)
    _run(root, "b", [_line(0, 4, 3), _line(1, 4, 0)], seed=2)
    return root


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    """``setup(tmp) -> argv``; ``expect``: "error" (exit 2, one line), "nonzero" (exit != 0
    without traceback) or "ok" (exit 0); ``check(tmp, stdout, stderr)`` returns a problem
    text or None; ``keep``: files that must be unchanged (default: every file made by setup)."""

    setup: Callable[[Path], list[str]]
    expect: str = "error"
    check: Callable[[Path, str, str], str | None] | None = None
    subprocess: bool = False
    keep: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _passk_value(path: str, k: int, expected: float, rel: float = 1e-9) -> Callable[..., str | None]:
    def check(tmp: Path, out: str, err: str) -> str | None:
        got = pd.read_csv(tmp / path)
        value = float(got.loc[got["k"] == k, "pass_at_k"].iloc[0])
        return None if abs(value - expected) <= rel * expected else f"pass@{k} = {value!r}"
    return check


def _same_problem_count(tmp: Path, out: str, err: str) -> str | None:
    got = pd.read_csv(tmp / "out.csv")
    counts = set(got["num_problems"])
    return None if len(counts) == 1 else f"num_problems differ: {sorted(counts)}"


def _merged(tmp: Path, out: str, err: str) -> str | None:
    got = pd.read_csv(tmp / "tables" / "counts.csv")
    return None if got["num_samples"].tolist() == [8, 8] else f"counts {got.to_dict('list')}"


def _limit_flagged(tmp: Path, out: str, err: str) -> str | None:
    runs = pd.read_csv(tmp / "tables" / "runs.csv")
    if "limit" not in runs.columns or "warning" not in out:
        return "a --limit run is not flagged"
    return None


def _message_has(text: str) -> Callable[..., str | None]:
    def check(tmp: Path, out: str, err: str) -> str | None:
        return None if text in err else f"message lacks {text!r}"
    return check


def _dangling(tmp: Path) -> list[str]:
    root = _two_chunks(tmp)
    s = root / "b" / f"samples_t_{DATE}.jsonl"
    s.unlink()
    s.symlink_to(tmp / "nowhere.jsonl")
    return ["collect", str(root), "-o", str(tmp / "tables")]


def _samples_dir(tmp: Path) -> list[str]:
    root = _two_chunks(tmp)
    s = root / "b" / f"samples_t_{DATE}.jsonl"
    s.unlink()
    s.mkdir()
    return ["collect", str(root), "-o", str(tmp / "tables")]


def _foreign_collect(tmp: Path) -> list[str]:
    root = _two_chunks(tmp)
    (tmp / "tables").mkdir()
    _counts(tmp / "tables", [("mine", 1, 10, 3)])
    return ["collect", str(root), "-o", str(tmp / "tables")]


def _different_problem_sets(tmp: Path) -> list[str]:
    rows = [("small", p, 10, 1) for p in range(40)]
    rows += [("big", p, 10, 9) for p in range(5)]  # only its 5 easiest problems
    rows += [("mid", p, 10, 3) for p in range(20)]
    return ["passk", str(_counts(tmp, rows)), "--k", "1", "--ci", "0", "-o", str(tmp / "out.csv")]


def _ladder_reversed(tmp: Path) -> list[str]:
    counts, ladder = _sim(tmp)
    lad = pd.read_csv(ladder)
    c = 6.0 * lad["parameters"] * lad["tokens"]
    lad["compute"] = c.to_numpy()[::-1]
    lad.to_csv(ladder, index=False)
    return ["fit", str(counts), "--ladder", str(ladder), "--k", "1"]


def _ladder_x1000(tmp: Path) -> list[str]:
    counts, ladder = _sim(tmp)
    lad = pd.read_csv(ladder)
    lad["compute"] = 6.0 * lad["parameters"] * lad["tokens"]
    lad.loc[0, "compute"] *= 1000
    lad.to_csv(ladder, index=False)
    return ["fit", str(counts), "--ladder", str(ladder), "--k", "1"]


def _cheapest(tmp: Path) -> str:
    lad = pd.read_csv(SIM / "ladder.csv")
    i = int((lad["parameters"] * lad["tokens"]).idxmin())
    return f"{lad.loc[i, 'model']}@{lad.loc[i, 'revision']}"


def _sim_args(tmp: Path, *rest: str) -> list[str]:
    counts, ladder = _sim(tmp)
    return [rest[0], str(counts), "--ladder", str(ladder), *rest[1:]]


def _parent_is_file(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["passk", str(_counts(tmp, [("m", 1, 10, 3)])), "-o", str(tmp / "afile" / "o.csv")]


def _interrupted_report(tmp: Path) -> list[str]:
    counts, _ = _sim(tmp)
    return ["report", str(counts), "-o", str(tmp / "rep"), "--k", "1", "--bootstrap", "50",
            "--dpi", "50", "--no-progress", "--no-backtest"]


CASES: dict[str, Case] = {
    # data loss
    "collect_replaces_foreign_counts": Case(_foreign_collect),
    "passk_output_is_input": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])),
                                             "-o", str(t / "counts.csv")]),
    "backtest_clobbers_foreign_sidecar": Case(lambda t: (
        (t / "bt_summary.csv").write_text("mine\n"),
        _sim_args(t, "backtest", "--k", "1", "--law", "compute", "-o", str(t / "bt.csv")))[1]),
    "envelope_clobbers_foreign_sidecar": Case(lambda t: (
        (t / "env_budgets.csv").write_text("mine\n"),
        _sim_args(t, "envelope", "--k", "1", "-o", str(t / "env.csv")))[1]),
    "fit_output_existing_dir": Case(lambda t: ((t / "d").mkdir(), _sim_args(
        t, "fit", "--k", "1", "-o", str(t / "d")))[1]),
    "report_after_interrupted_report": Case(_interrupted_report, expect="ok",
                                            extra={"interrupt_first": True}),
    # silent drops and wrong numbers
    "passk_70M_1_2": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 70_000_000, 1)])), "--k",
                                     "2", "--ci", "0", "-o", str(t / "out.csv")],
                          expect="ok", check=_passk_value("out.csv", 2, 2 / 70_000_000)),
    "passk_1e11": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10**11, 3)])), "--k",
                                  "5", "--ci", "0", "-o", str(t / "out.csv")],
                       expect="ok", check=_passk_value("out.csv", 5, 1 - (1 - 3 / 10**11) ** 5,
                                                       rel=1e-6)),
    "collect_missing_samples": Case(lambda t: (
        (_two_chunks(t) / "b" / f"samples_t_{DATE}.jsonl").unlink(),
        ["collect", str(t / "runs"), "-o", str(t / "tables")])[1]),
    "collect_dangling_samples": Case(_dangling),
    "collect_samples_is_dir": Case(_samples_dir),
    "collect_all_empty": Case(lambda t: (_run(t / "runs", "a", []),
                                         ["collect", str(t / "runs"), "-o", str(t / "tables")])[1]),
    "passk_different_problem_sets": Case(_different_problem_sets, expect="ok",
                                         check=_same_problem_count),
    "ladder_compute_reversed": Case(_ladder_reversed),
    "ladder_compute_x1000": Case(_ladder_x1000),
    "bootstrap_1": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--bootstrap", "1"]),
    "bootstrap_2": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--bootstrap", "2"]),
    "bootstrap_negative": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])),
                                          "--bootstrap", "-5"]),
    "fit_bootstrap_2": Case(lambda t: _sim_args(t, "fit", "--k", "1", "--bootstrap", "2")),
    "at_in_model_collides": Case(lambda t: ["passk", str(_counts(
        t, [("A@r", 1, 10, 3), ("A", 1, 10, 5)], columns=("model", "problem_id", "num_samples",
                                                            "num_correct"))), "--ci", "0"]),
    "at_in_model_with_revision": Case(lambda t: ["passk", str(_counts(
        t, [("A@r", "", 1, 10, 3), ("A", "r", 1, 10, 5)],
        columns=("model", "revision", "problem_id", "num_samples", "num_correct"))), "--ci", "0"]),
    # tracebacks and hangs
    "backtest_target_cheapest": Case(lambda t: _sim_args(
        t, "backtest", "--k", "1", "--law", "compute", "--target", _cheapest(t))),
    "backtest_exclude_all": Case(lambda t: _sim_args(t, "backtest", "--k", "1", "--law", "compute",
                                                     "--exclude", "*"), expect="nonzero"),
    "report_k_beyond_samples": Case(lambda t: _sim_args(
        t, "report", "--k", "1000", "-o", str(t / "rep"), "--no-progress", "--bootstrap", "50")),
    "output_parent_is_file": Case(_parent_is_file),
    "output_in_proc": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "-o",
                                      "/proc/lm_eval_scaling_fuzz.csv"]),
    "fit_output_parent_is_file": Case(lambda t: ((t / "f").write_text("x"), _sim_args(
        t, "fit", "--k", "1", "-o", str(t / "f" / "fits.json")))[1]),
    "seed_negative": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--seed", "-1"]),
    "k_1e20": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--k", "1e20"]),
    "k_huge_range": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--k",
                                    "1-100000000"], subprocess=True),
    "k_huge_grid": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--k",
                                   "1:1e4:1e9"], subprocess=True),
    "fit_grid_huge": Case(lambda t: _sim_args(t, "fit", "--k", "1", "--grid", "100000000"),
                          subprocess=True),
    "jobs_zero": Case(lambda t: _sim_args(t, "fit", "--k", "1", "--jobs", "0")),
    "count_beyond_int64": Case(lambda t: ["passk", str(_counts(
        t, [("m", 1, 99999999999999999999, 3)]))], check=_message_has("99999999999999999999")),
    "fit_exclude_all": Case(lambda t: _sim_args(t, "fit", "--k", "1", "--exclude", "*"),
                            expect="nonzero"),
    "envelope_exclude_all": Case(lambda t: _sim_args(t, "envelope", "--k", "1", "--exclude", "*"),
                                 expect="nonzero"),
    "passk_all_undefined": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--k",
                                           "100", "--ci", "0"], expect="nonzero"),
    "collect_output_is_file": Case(lambda t: ((t / "tables").write_text("x"),
                                              ["collect", str(_two_chunks(t)), "-o",
                                               str(t / "tables")])[1]),
    # valid runs that must work
    "collect_two_processes": Case(lambda t: (
        _run(t / "runs", "a", [_line(0, 4, 1), _line(1, 4, 2)], seed=1, addr="0x7f01"),
        _run(t / "runs", "b", [_line(0, 4, 3), _line(1, 4, 0)], seed=2, addr="0x7f99"),
        ["collect", str(t / "runs"), "-o", str(t / "tables")])[2],
        expect="ok", check=_merged),
    "collect_limit_flagged": Case(lambda t: (
        _run(t / "runs", "a", [_line(0, 4, 1)], seed=1, limit=1),
        _run(t / "runs", "b", [_line(1, 4, 1)], seed=1, limit=1, addr="0x1"),
        ["collect", str(t / "runs"), "-o", str(t / "tables")])[2], expect="ok",
        check=_limit_flagged),
    "collect_rerun_same_dir": Case(lambda t: (
        main(["collect", str(_two_chunks(t)), "-o", str(t / "tables")]),
        ["collect", str(t / "runs"), "-o", str(t / "tables")])[1], expect="ok", keep=False),
    "report_output_parent_is_file": Case(lambda t: ((t / "f").write_text("x"), _sim_args(
        t, "report", "--k", "1", "--no-backtest", "--bootstrap", "50", "-o", str(t / "f" / "r")))[1]),
    "collect_output_in_proc": Case(lambda t: ["collect", str(_two_chunks(t)), "-o",
                                              "/proc/lm_eval_scaling_fuzz"]),
    "passk_output_is_input_other_spelling": Case(lambda t: (
        _counts(t, [("m", 1, 10, 3)]), (t / "sub").mkdir(),
        ["passk", str(t / "counts.csv"), "-o", str(t / "sub" / ".." / "counts.csv")])[2]),
    "report_into_foreign_dir": Case(lambda t: ((t / "rep").mkdir(), (t / "rep" / "notes.txt")
                                               .write_text("mine"), _sim_args(
        t, "report", "--k", "1", "--no-backtest", "-o", str(t / "rep")))[2]),
    "collect_same_seed_twice": Case(lambda t: (
        _run(t / "runs", "a", [_line(0, 4, 1)], seed=1),
        _run(t / "runs", "b", [_line(0, 4, 1)], seed=1, addr="0x2"),
        ["collect", str(t / "runs"), "-o", str(t / "tables")])[2]),
    "k_fraction": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--k", "1.5"]),
    "backtest_threshold_negative": Case(lambda t: _sim_args(
        t, "backtest", "--k", "1", "--law", "compute", "--threshold", "-1")),
    "passk_controls_k0": Case(lambda t: ["passk", str(_counts(t, [("m", 1, 10, 3)])), "--k", "0"]),
}


# --------------------------------------------------------------------------- runner


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()}


class _Alarm(Exception):
    pass


def _in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str, str]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise _Alarm

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(_ALARM_S)
    escaped = ""
    rc: int | None = None
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = int(exc.code) if isinstance(exc.code, int) else 2
    except _Alarm:
        escaped = "hang"
    except BaseException as exc:  # noqa: BLE001 - classifying is the point
        escaped = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    return rc, out, err, escaped


def _in_subprocess(argv: list[str], tmp: Path) -> tuple[int | None, str, str, str]:
    code = ("import resource,sys; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); "
            "from lm_eval_scaling.cli import main; sys.exit(main(sys.argv[1:]))")
    try:
        proc = subprocess.run([sys.executable, "-c", code, *argv], check=False,
                              capture_output=True, text=True, timeout=_ALARM_S, cwd=tmp)
    except subprocess.TimeoutExpired:
        return None, "", "", "hang"
    escaped = "Traceback" if "Traceback (most recent call last)" in proc.stderr else ""
    return proc.returncode, proc.stdout, proc.stderr, escaped


def classify(case: Case, tmp: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    argv = case.setup(tmp)
    capsys.readouterr()
    if case.extra.get("interrupt_first"):
        from lm_eval_scaling.report import _figures

        real = _figures.render_figures

        def crash(*args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt

        _figures.render_figures = crash  # type: ignore[assignment]
        try:
            _in_process(argv, capsys)
        finally:
            _figures.render_figures = real  # type: ignore[assignment]
    before = _snapshot(tmp)
    if case.subprocess:
        rc, out, err, escaped = _in_subprocess(argv, tmp)
    else:
        rc, out, err, escaped = _in_process(argv, capsys)
    if escaped:
        return "traceback", escaped
    after = _snapshot(tmp)
    if case.keep:
        changed = [name for name, data in before.items() if after.get(name) != data]
        if changed:
            return "destroyed", f"changed or removed: {changed}"
    if case.expect == "ok":
        if rc != 0:
            return "refused_valid", f"exit {rc}: {err.strip()[-300:]}"
    elif rc == 0:
        return "exit0_wrong", "exit 0 where an error or a non-zero exit was expected"
    elif case.expect == "error":
        if rc != 2:
            return "bad_message", f"exit {rc}, expected 2"
        errors = [line for line in err.splitlines()
                  if line.startswith("lm-eval-scaling") and "error:" in line]
        if len(errors) != 1:
            return "bad_message", f"expected one error line, got: {err.strip()[-300:]!r}"
    if case.check is not None:
        problem = case.check(tmp, out, err)
        if problem:
            return ("exit0_wrong" if rc == 0 else "bad_message"), problem
    return "ok", ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_fuzz(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome, detail = classify(CASES[name], tmp_path, capsys)
    assert outcome == "ok", f"FUZZ-CLASS {outcome}: {name}: {detail}"
