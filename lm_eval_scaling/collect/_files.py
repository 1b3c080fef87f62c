"""Finding lm_eval output files and reading what ``collect`` needs from a results JSON.

lm_eval ``--output_path OUT --log_samples`` writes, per run,
``OUT/<sanitised model>/results_<date>.json`` and, per task,
``samples_<task>_<date>.jsonl`` beside it (same ``<date>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..errors import InputError
from ..harness.options import RUN_DEFINING_METADATA

__all__ = ["RunTask", "find_results_files", "run_tasks"]

_DATE_RE: Final = re.compile(r"_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)$")

# Task config fields that change what is generated or how it is scored: two runs
# that differ in any of them do not merge.
_SETTING_FIELDS: Final = (
    "output_type", "custom_dataset", "dataset_path", "dataset_name", "test_split",
    "fewshot_split", "process_docs", "doc_to_text", "doc_to_target", "description",
    "target_delimiter", "fewshot_delimiter", "fewshot_config", "num_fewshot",
    "gen_prefix", "generation_kwargs", "filter_list", "process_results",
)
# Run-level fields that change the prompt.
_RUN_SETTING_FIELDS: Final = ("system_instruction", "chat_template", "fewshot_as_multiturn")
_SEED_FIELDS: Final = ("random_seed", "numpy_seed", "torch_seed")
# ``<function doc_to_text at 0x7f...>``: the address differs in every process.
_ADDRESS_RE: Final = re.compile(r" at 0x[0-9a-fA-F]+(?=>)")


@dataclass(frozen=True)
class RunTask:
    """One task of one lm_eval run: where its samples are and what identifies it."""

    results_path: Path
    samples_path: Path
    task: str
    model: str
    revision: str
    backend: str
    #: setting name -> canonical JSON of its value (compared between runs)
    settings: Mapping[str, str] = field(repr=False)
    #: what makes two runs' samples independent (seeds); equal = duplicate run
    seed: tuple[str, ...] = ()
    #: lm_eval ``--limit`` of the run ("" when it ran on every problem)
    limit: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model, self.revision, self.task)


def find_results_files(inputs: Iterable[Path]) -> list[Path]:
    """Every lm_eval results JSON under the given directories (or given directly), sorted."""
    found: dict[Path, None] = {}
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_file():
            # given directly: any name lm_eval writes (``--output_path x.json`` -> x_<date>.json)
            if path.suffix != ".json" or not _DATE_RE.search(path.stem):
                raise InputError(f"{path}: not an lm_eval results file (results_<date>.json)")
            found.setdefault(path.resolve(), None)
            continue
        for candidate in sorted(path.rglob("results_*.json")):
            if _DATE_RE.search(candidate.stem):
                found.setdefault(candidate.resolve(), None)
    return list(found)


def run_tasks(results_path: Path) -> tuple[list[RunTask], list[str]]:
    """The tasks of one results file that have a samples file, and the names of those
    that have none (run without ``--log_samples``)."""
    data = _read_json(results_path)
    date = _DATE_RE.search(results_path.stem)
    if date is None:  # pragma: no cover - filtered by find_results_files
        raise InputError(f"{results_path}: file name carries no lm_eval date suffix")
    configs = data.get("configs")
    config = data.get("config")
    if not isinstance(configs, dict) or not isinstance(config, dict):
        raise InputError(f"{results_path}: not an lm_eval results file (no 'configs'/'config')")
    model, revision = _model_identity(results_path, data)
    backend = str(config.get("model", ""))
    seed = _seed_signature(config)
    limit = config.get("limit")
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    versions = data.get("versions") or {}
    found, missing = [], []
    for task, task_cfg in sorted(configs.items()):
        samples = results_path.parent / f"samples_{task}_{date.group(1)}.jsonl"
        if not samples.is_file():
            missing.append(task)
            continue
        settings = _settings(task_cfg, data, versions.get(task))
        # lm_eval 0.5 names a group's tasks "group::task"; the task is the same
        name = task.rpartition("::")[2]
        found.append(RunTask(results_path, samples, name, model, revision, backend, settings, seed,
                             "" if limit is None else str(limit)))
    return found, missing


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _model_args(config: Mapping[str, Any]) -> dict[str, Any]:
    raw = config.get("model_args")
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        out: dict[str, Any] = {}
        for part in raw.split(","):
            key, sep, value = part.partition("=")
            if sep:
                out[key.strip()] = value.strip()
        return out
    return {}


def _model_identity(path: Path, data: Mapping[str, Any]) -> tuple[str, str]:
    """``(model, revision)``: ``pretrained`` (or ``model``) from model_args; the revision
    from model_args, else the backend's ``model_revision`` unless it is the default ``main``."""
    config = data["config"]
    args = _model_args(config)
    model = args.get("pretrained") or args.get("model") or data.get("model_name")
    if not isinstance(model, str) or not model:
        raise InputError(
            f"{path}: field 'config.model_args' has no 'pretrained' (got {config.get('model_args')!r})"
        )
    revision = args.get("revision")
    if revision is None:
        revision = config.get("model_revision")
        if revision == "main":
            revision = None
    return model, "" if revision is None else str(revision)


def _seed_signature(config: Mapping[str, Any]) -> tuple[str, ...]:
    args = _model_args(config)
    return tuple(f"{name}={config.get(name)}" for name in _SEED_FIELDS) + (
        f"model_args.seed={args.get('seed')}",
    )


def _canonical(value: Any) -> str:
    """Canonical JSON of a setting; callables compare by qualified name, not address."""
    return _ADDRESS_RE.sub("", json.dumps(_without_addresses(value), sort_keys=True, default=str))


def _without_addresses(value: Any) -> Any:
    if isinstance(value, str):
        return _ADDRESS_RE.sub("", value)
    if isinstance(value, dict):
        return {k: _without_addresses(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_addresses(v) for v in value]
    if callable(value):
        return f"<callable {getattr(value, '__module__', '')}.{getattr(value, '__qualname__', value)}>"
    return value


def _settings(task_cfg: Mapping[str, Any], data: Mapping[str, Any], version: Any) -> dict[str, str]:
    out = {name: _canonical(task_cfg.get(name)) for name in _SETTING_FIELDS}
    metadata = task_cfg.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {}
    for name in RUN_DEFINING_METADATA:
        out[f"metadata.{name}"] = _canonical(metadata.get(name))
    out["version"] = _canonical(version)
    for name in _RUN_SETTING_FIELDS:
        out[name] = _canonical(data.get(name))
    return out
