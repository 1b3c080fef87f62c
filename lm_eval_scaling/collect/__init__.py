"""``collect``: lm_eval output directories -> tidy counts and gold tables.

Reads the ``results_<date>.json`` files under the given directories and the
``samples_<task>_<date>.jsonl`` files beside them (``--log_samples``), streaming the
JSONL one line at a time.  Each line of a sampling task carries ``num_samples`` and
``num_correct``; each line of a gold task carries ``gold_logprob`` and ``gold_bytes``
(see :mod:`lm_eval_scaling.harness.metrics`).  Model and revision come from the results
JSON (``model_args``: ``pretrained``, ``revision``; else the backend's ``model_revision``).

Merging rules (the resumability contract, docs/tasks.md):

* Runs of one (model, revision, task) with different seeds are independent samples:
  their counts are summed per problem.
* Two runs with the same seeds (``--seed`` and ``seed=`` in ``--model_args``) that
  share a problem are the same samples twice: error, never double counted.
* Runs whose generation settings, prompt, scoring or task version differ do not
  merge: error naming both files and the first differing setting.  The per-problem
  prompt hashes logged by lm_eval are compared too.
* Gold log-probabilities are deterministic: the same problem in two runs must agree
  (within ``gold_rtol``) and is kept once.
* A truncated last line of a samples file (a killed run) is skipped with a warning.
* A task of a results file without its samples file (missing, a directory, a dangling
  link) is an error, never skipped; so is input that yields no row at all.
* Runs made with lm_eval's ``--limit`` (a subset of the problems) are flagged: the
  ``limit`` column of ``runs.csv`` and a warning.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..errors import InputError
from ..tables.checkpoints import checkpoint_name
from ..tables.files import check_output_dir, output_lock, write_table_file
from ..tables.schema import read_counts, read_gold
from ._files import RunTask, find_results_files, run_tasks
from ._stream import ProblemRecord, iter_records

__all__ = ["RUNS_COLUMNS", "TABLE_FILES", "CollectResult", "collect_tables", "write_tables"]

log = logging.getLogger(__name__)

RUNS_COLUMNS = ("model", "revision", "task", "kind", "backend", "seed", "limit",
                "num_problems", "num_samples", "results_file", "samples_file")
#: The files ``write_tables`` writes into its directory.
TABLE_FILES = ("counts.csv", "gold.csv", "runs.csv")

_Key = tuple[str, str, str]  # (model, revision, task)


@dataclass(frozen=True)
class CollectResult:
    """Tables built by :func:`collect_tables`.

    ``counts`` and ``gold`` are validated tidy tables (``read_counts`` / ``read_gold``);
    ``runs`` lists every (results file, task) read, for provenance; ``warnings`` the
    non-fatal problems (truncated lines).
    """

    counts: pd.DataFrame
    gold: pd.DataFrame
    runs: pd.DataFrame
    warnings: tuple[str, ...] = ()


def collect_tables(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    gold_rtol: float = 1e-3,
    strip_prefixes: Sequence[str] = (),
    progress: bool | None = None,
) -> CollectResult:
    """Tidy counts and gold tables from lm_eval output directories (or results files).

    ``gold_rtol``: relative tolerance within which two runs' log-probabilities of the same
    gold solution count as equal.  ``strip_prefixes``: leading strings removed from model
    names (e.g. the directory holding local checkpoints).  ``progress``: show a progress bar (None: on a terminal).
    """
    return _merge_runs(run_dirs, gold_rtol=gold_rtol, strip_prefixes=strip_prefixes,
                       progress=progress, what="collect")


def _merge_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    gold_rtol: float = 1e-3,
    strip_prefixes: Sequence[str] = (),
    progress: bool | None = None,
    what: str,
    records_of: Callable[[RunTask, list[str]], Iterable[ProblemRecord] | None] | None = None,
    ignore_settings: Collection[str] = (),
) -> CollectResult:
    """The merge rules of :func:`collect_tables`, with each samples file read by
    ``records_of(task, warnings)`` (None: skip the file) instead of ``iter_records``;
    settings named in ``ignore_settings`` may differ between runs."""
    if not run_dirs:
        raise InputError(f"{what}: no run directory given")
    paths = [Path(p) for p in run_dirs]
    results_files = find_results_files(paths)
    if not results_files:
        raise InputError(
            f"no lm_eval results file (results_<date>.json) under {', '.join(map(str, paths))}"
        )
    tasks = [_strip_model(t, strip_prefixes) for t in _list_tasks(results_files)]
    _check_settings(tasks, ignore_settings)
    state = _Accumulator(gold_rtol)
    bar = tqdm(tasks, desc=what, unit="file", disable=None if progress is None else not progress)
    for task in bar:
        if records_of is None:
            state.add(task)
            continue
        records = records_of(task, state.warnings)
        if records is not None:
            state.add(task, records)
    result = state.result()
    if result.counts.empty and result.gold.empty:
        raise InputError(
            f"no counts and no gold rows in {len(tasks)} samples file(s) under "
            f"{', '.join(map(str, paths))}: the files are empty or hold no task of "
            "lm-eval-scaling (num_samples/num_correct or gold_logprob per line)")
    return result


def write_tables(result: CollectResult, out_dir: str | os.PathLike[str], *,
                 force: bool = False) -> dict[str, Path]:
    """Write ``counts.csv``, ``gold.csv`` and ``runs.csv`` into ``out_dir``; return the paths.

    Refuses (InputError) a directory holding one of those files that this package did not
    write (:func:`lm_eval_scaling.tables.files.check_output_dir`) unless ``force``.
    """
    out = check_output_dir(out_dir, names=TABLE_FILES, force=force)
    with output_lock(out):
        return {
            "counts": write_table_file(result.counts, out / "counts.csv"),
            "gold": write_table_file(result.gold, out / "gold.csv"),
            "runs": write_table_file(result.runs, out / "runs.csv"),
        }


# --------------------------------------------------------------------------- helpers


def _list_tasks(results_files: Iterable[Path]) -> list[RunTask]:
    tasks: list[RunTask] = []
    for path in results_files:
        found, missing = run_tasks(path)
        tasks.extend(found)
        if missing:
            raise InputError(
                f"{path}: task(s) {', '.join(missing)} have no samples file "
                f"(samples_<task>_<date>.jsonl beside it is missing, a directory or a dangling "
                "link; was lm_eval run with --log_samples?): their samples would be silently "
                "lost; restore the file or move the results file away")
    if not tasks:
        raise InputError(
            "no samples files (samples_<task>_<date>.jsonl) beside the results files: "
            "run lm_eval with --log_samples"
        )
    return tasks


def _strip_model(task: RunTask, prefixes: Sequence[str]) -> RunTask:
    for prefix in prefixes:
        if prefix and task.model.startswith(prefix) and len(task.model) > len(prefix):
            return replace(task, model=task.model[len(prefix):])
    return task


def _check_settings(tasks: Sequence[RunTask], ignore: Collection[str] = ()) -> None:
    first: dict[_Key, RunTask] = {}
    for task in tasks:
        ref = first.setdefault(task.key, task)
        if ref is task:
            continue
        for name, value in task.settings.items():
            if name in ignore:
                continue
            other = ref.settings.get(name)
            if value != other:
                raise InputError(
                    f"runs of {_label(task.key)} differ in setting {name!r}: "
                    f"{_short(other)} in {ref.results_path} vs {_short(value)} in "
                    f"{task.results_path}; they cannot be merged (use a separate "
                    "output directory and collect them separately)"
                )


class _Accumulator:
    """Per-problem sums and checks across runs."""

    def __init__(self, gold_rtol: float) -> None:
        self.gold_rtol = gold_rtol
        self.counts: dict[tuple[str, str, str, str], list[int]] = {}
        self.gold: dict[tuple[str, str, str, str], tuple[float, int, Path]] = {}
        self.prompts: dict[tuple[str, str, str, str], tuple[str, Path]] = {}
        # (model, revision, task, seed) -> (problems, samples file) of earlier runs
        self.seen: dict[tuple[str, str, str, tuple[str, ...]], list[tuple[set[str], Path]]] = (
            defaultdict(list)
        )
        self.runs: list[dict[str, object]] = []
        self.warnings: list[str] = []

    def add(self, task: RunTask, records: Iterable[ProblemRecord] | None = None) -> None:
        """Merge one samples file (its lines parsed by ``iter_records``, or ``records``)."""
        problems: set[str] = set()
        kinds: set[str] = set()
        total = 0
        if records is None:
            records = iter_records(task.samples_path, self.warnings)
        for record in records:
            if record.problem_id in problems:
                raise InputError(f"{task.samples_path}: line {record.line}: problem_id "
                                 f"{record.problem_id!r} appears twice in one file")
            problems.add(record.problem_id)
            kinds.add(record.kind)
            if len(kinds) > 1:
                raise InputError(f"{task.samples_path}: line {record.line}: mixes count and "
                                 "gold lines")
            if record.kind == "other":
                continue
            key = (*task.key, record.problem_id)
            self._check_prompt(key, record, task)
            if record.kind == "counts":
                total += record.num_samples
                self._add_counts(key, record)
            else:
                self._add_gold(key, record, task)
        kind = next(iter(kinds)) if kinds else "other"
        if kind == "other":
            log.info("%s: no num_samples/num_correct or gold_logprob fields; not a task of "
                     "lm-eval-scaling, skipped", task.samples_path)
        if kind == "counts":
            self._check_duplicate_run(task, problems)
        if task.limit:
            message = (f"{task.samples_path}: run with lm_eval --limit {task.limit}: only part "
                       "of the problems (see the 'limit' column of runs.csv)")
            log.warning(message)
            self.warnings.append(message)
        self.runs.append({
            "model": task.model, "revision": task.revision, "task": task.task, "kind": kind,
            "backend": task.backend, "seed": ";".join(task.seed), "limit": task.limit,
            "num_problems": len(problems),
            "num_samples": total, "results_file": str(task.results_path),
            "samples_file": str(task.samples_path),
        })

    def _check_prompt(self, key: tuple[str, str, str, str], record: ProblemRecord,
                      task: RunTask) -> None:
        prev = self.prompts.setdefault(key, (record.prompt_hash, task.samples_path))
        if prev[0] != record.prompt_hash:
            raise InputError(
                f"{_label(task.key)}, problem_id {record.problem_id!r}: the prompt differs "
                f"between {prev[1]} and {task.samples_path} (line {record.line}); runs with "
                "different prompts cannot be merged"
            )

    def _add_counts(self, key: tuple[str, str, str, str], record: ProblemRecord) -> None:
        acc = self.counts.get(key)
        if acc is None:
            self.counts[key] = [record.num_samples, record.num_correct]
        else:
            acc[0] += record.num_samples
            acc[1] += record.num_correct

    def _add_gold(self, key: tuple[str, str, str, str], record: ProblemRecord,
                  task: RunTask) -> None:
        prev = self.gold.get(key)
        if prev is None:
            self.gold[key] = (record.gold_logprob, record.gold_bytes, task.samples_path)
            return
        tol = self.gold_rtol * max(1.0, abs(prev[0]))
        if abs(prev[0] - record.gold_logprob) > tol or prev[1] != record.gold_bytes:
            raise InputError(
                f"{_label(task.key)}, problem_id {record.problem_id!r}: gold_logprob "
                f"{prev[0]!r} in {prev[2]} vs {record.gold_logprob!r} in {task.samples_path} "
                f"(line {record.line}) disagree beyond gold_rtol={self.gold_rtol}"
            )
        log.debug("%s: gold of problem %s also in %s; kept once", task.samples_path,
                  record.problem_id, prev[2])

    def _check_duplicate_run(self, task: RunTask, problems: set[str]) -> None:
        earlier = self.seen[(*task.key, task.seed)]
        for other_problems, other_path in earlier:
            shared = problems & other_problems
            if shared:
                raise InputError(
                    f"{task.samples_path} and {other_path} are runs of {_label(task.key)} "
                    f"with the same seeds ({', '.join(task.seed)}) sharing "
                    f"{len(shared)} problem(s): duplicate samples, refusing to double count. "
                    "Give every chunk its own --seed (and seed= in --model_args for vllm)"
                )
        earlier.append((problems, task.samples_path))

    def result(self) -> CollectResult:
        counts = pd.DataFrame(
            [(*k, n, c) for k, (n, c) in self.counts.items()],
            columns=["model", "revision", "task", "problem_id", "num_samples", "num_correct"],
        )
        gold = pd.DataFrame(
            [(*k, lp, b) for k, (lp, b, _) in self.gold.items()],
            columns=["model", "revision", "task", "problem_id", "gold_logprob", "gold_bytes"],
        )
        counts = read_counts(_sorted(counts), name="collected counts")
        if len(gold) and (gold["gold_bytes"] < 1).any():
            gold = gold.drop(columns="gold_bytes")
        gold = read_gold(_sorted(gold), name="collected gold")
        runs = pd.DataFrame(self.runs, columns=list(RUNS_COLUMNS))
        return CollectResult(counts=counts, gold=gold, runs=runs, warnings=tuple(self.warnings))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    order = df["problem_id"].map(_problem_order)
    return (df.assign(_order=order).sort_values(["model", "revision", "task", "_order"])
            .drop(columns="_order").reset_index(drop=True))


def _problem_order(problem_id: str) -> tuple[int, int, str]:
    """Sort key of a problem id: numeric ids in numeric order, then the others."""
    if problem_id.lstrip("-").isdigit():
        return (0, int(problem_id), "")
    return (1, 0, problem_id)


def _label(key: _Key) -> str:
    model, revision, task = key
    return f"{checkpoint_name(model, revision)} / {task}"


def _short(value: str | None, limit: int = 120) -> str:
    text = "<absent>" if value is None else value
    return text if len(text) <= limit else text[:limit] + "..."
