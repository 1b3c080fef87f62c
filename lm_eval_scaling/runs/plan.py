"""The plan of a ladder run: every checkpoint of a ladder table x chunk seed.

A ladder run samples ``n_samples`` responses per problem from every checkpoint, in
``chunks`` chunks of ``n_samples / chunks`` samples, chunk ``k`` (1-based) run with
lm_eval ``--seed first_seed + k - 1``.  Each (checkpoint, chunk) is one job, one
``lm-eval-scaling run`` (lm_eval's run command) with its own output directory::

    OUT/plan.json                                  the settings (a rerun must match them)
    OUT/runs/<model>/<revision>/chunk<k>/out/      lm_eval --output_path (results + samples)
    OUT/runs/<model>/<revision>/chunk<k>/cache_rank0.db   --use_cache: finished samples
    OUT/runs/<model>/<revision>/chunk<k>/lm_eval.log      the job's output
    OUT/tables/                                    collect's counts.csv, gold.csv, runs.csv

A job is finished when its ``out/`` holds a results file and the samples file of every
task in it (lm_eval writes the samples after the results).  Finished jobs are skipped;
an unfinished job is rerun with the same command and resumes from its ``--use_cache``
database (:mod:`lm_eval_scaling.models`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from ..errors import InputError
from ..tables.checkpoints import checkpoint_name
from ..tables.files import write_text
from ..tables.ladder import load_ladder

__all__ = ["Job", "LadderSettings", "check_plan_file", "finished", "plan_jobs"]

_RESULTS: Final = re.compile(r"^results_(.+)\.json$")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LadderSettings:
    """What a ladder run samples (recorded in ``OUT/plan.json``)."""

    tasks: tuple[str, ...]
    n_samples: int
    chunks: int = 1
    model: str = "hf-repeats"
    model_args: str = ""
    first_seed: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    lm_eval_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.tasks:
            raise InputError("--tasks: give at least one task")
        if self.n_samples < 1 or self.chunks < 1:
            raise InputError(f"--n-samples ({self.n_samples}) and --chunks ({self.chunks}) "
                             "must be >= 1")
        if self.n_samples % self.chunks:
            raise InputError(f"--n-samples {self.n_samples} is not a multiple of --chunks "
                             f"{self.chunks}: every chunk draws the same number of samples")
        for key in ("pretrained", "revision", "seed"):
            if re.search(rf"(^|,)\s*{key}\s*=", self.model_args):
                raise InputError(f"--model-args: {key}= is set per job by the plan "
                                 f"(got {self.model_args!r})")
        reserved = {"--model", "--model_args", "--tasks", "--seed", "--output_path",
                    "--use_cache", "--metadata", "--log_samples", "--include_path"}
        for arg in self.lm_eval_args:
            if arg.split("=", 1)[0] in reserved:
                raise InputError(f"--lm-eval-args: {arg} is set by the plan")

    @property
    def samples_per_chunk(self) -> int:
        return self.n_samples // self.chunks

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["tasks"] = list(self.tasks)
        out["lm_eval_args"] = list(self.lm_eval_args)
        out["metadata"] = dict(self.metadata)
        return out


@dataclass(frozen=True)
class Job:
    """One (checkpoint, chunk): an ``lm-eval-scaling run`` with its own directory."""

    index: int
    model: str
    revision: str
    chunk: int
    seed: int
    directory: Path
    argv: tuple[str, ...]

    @property
    def checkpoint(self) -> str:
        return checkpoint_name(self.model, self.revision)

    @property
    def output_dir(self) -> Path:
        return self.directory / "out"

    @property
    def log_file(self) -> Path:
        return self.directory / "lm_eval.log"

    def command(self, program: Sequence[str] = ("lm-eval-scaling",)) -> str:
        """The job as a shell command line."""
        return shlex.join([*program, "run", *self.argv])


def plan_jobs(ladder: Any, settings: LadderSettings, out: str | Path) -> list[Job]:
    """Every (checkpoint, chunk) of ``ladder`` (a ladder table: path, DataFrame or the
    ``pythia`` preset), in ladder order, chunk by chunk."""
    table = load_ladder(ladder)
    root = Path(out)
    jobs: list[Job] = []
    metadata = dict(settings.metadata) | {"n_samples": settings.samples_per_chunk}
    for model, revision in zip(table["model"], table["revision"], strict=True):
        for chunk in range(1, settings.chunks + 1):
            seed = settings.first_seed + chunk - 1
            directory = (root / "runs" / _safe(model) / (_safe(revision) or "_")
                         / f"chunk{chunk}")
            model_args = [f"pretrained={model}"]
            if revision:
                model_args.append(f"revision={revision}")
            if "vllm" in settings.model:
                model_args.append(f"seed={seed}")  # vLLM's sampler seed (lm_eval's --seed
                # does not reach it); part of the run seed of vllm-repeats too
            if settings.model_args:
                model_args.append(settings.model_args)
            argv = ("--model", settings.model, "--model_args", ",".join(model_args),
                    "--tasks", ",".join(settings.tasks),
                    "--metadata", json.dumps(metadata, sort_keys=True),
                    "--seed", str(seed), "--log_samples",
                    "--output_path", str(directory / "out"),
                    "--use_cache", str(directory / "cache"),
                    *settings.lm_eval_args)
            jobs.append(Job(len(jobs), model, revision, chunk, seed, directory, argv))
    return jobs


def finished(job: Job) -> bool:
    """Whether ``job``'s output holds a results file with the samples of all its tasks."""
    if not job.output_dir.is_dir():
        return False
    for results in job.output_dir.rglob("results_*.json"):
        match = _RESULTS.match(results.name)
        if match is None:
            continue
        try:
            configs = json.loads(results.read_text(encoding="utf-8")).get("configs") or {}
        except (OSError, json.JSONDecodeError):
            continue
        if configs and all((results.parent / f"samples_{task}_{match.group(1)}.jsonl").is_file()
                           for task in configs):
            return True
    return False


def check_plan_file(settings: LadderSettings, out: str | Path) -> Path:
    """Write ``OUT/plan.json``, or check that the one there has the same settings
    (a rerun with other settings would mix incompatible chunks)."""
    path = Path(out) / "plan.json"
    wanted = settings.to_json()
    if path.is_file():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg})") from exc
        for key, value in wanted.items():
            if found.get(key) != value:
                raise InputError(f"{path}: field {key!r} is {found.get(key)!r} but this run asks "
                                 f"for {value!r}; use another --out or the same settings")
        return path
    return write_text(path, json.dumps(wanted, indent=2, sort_keys=True) + "\n")


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", str(text)).strip("_")
