"""Build the tiny-ladder default input from nothing, on CPU.

    python examples/tiny_ladder/build.py                 # everything (20 min on 2 cores)
    python examples/tiny_ladder/build.py --preset toy    # seconds: a smoke test of every stage
    python examples/tiny_ladder/build.py --preset wide   # an experiment (see below)

Presets (docs/tiny_ladder.md compares them on the acceptance check):

* ``full`` (default; the committed tables in ``lm_eval_scaling/data/tiny_ladder``): the
  ``arith`` generator's ``"wide"`` mix (1-4 operations x 1-3 digit numbers, the harness
  default), 4 sizes x 5 annealed checkpoints at 20 -> 80 tokens per non-embedding
  parameter, sequences of 160 tokens, ``max_gen_toks`` 96.
* ``full-seed1``, ``full-seed2``: ``full`` with other initialisation seeds (seed-to-seed
  variation).
* ``wide`` (experiment): the same mix and sizes, 4 checkpoints at 10 -> 80 tokens/param.
* ``narrow`` (the default until 2026-11): the ``"v2"`` mix (1-3 operations, mostly
  one-digit numbers), 4 sizes (up to 200K) at 3 -> 24 tokens per parameter.
* ``long`` (experiment): the ``"v2"`` mix, 3 sizes, every size on 1.2M -> 12M tokens.
* ``toy``: two 1-layer models, seconds; for tests.

Experiments write their tables to ``<work-dir>/tables``; copies of the ones discussed in the
docs are kept in ``experiments/<preset>/``.

Stages (each resumable: finished pieces under ``--work-dir`` are reused):

1. ``data``   -- synthetic train problems (:func:`lm_eval_scaling.harness.arith.generate`, train
   split only) written in exactly the harness prompt format
   (:func:`lm_eval_scaling.harness.prompt.training_text`) + EOS; a byte-level BPE
   tokenizer (single-digit pieces) trained on them; the set tokenised once and packed.
2. ``train``  -- one GPT-NeoX per size, warmup-stable-decay with a linear cooldown
   branched at every checkpoint budget (see ``_train.py``); each checkpoint saved with
   ``save_pretrained`` (model + tokenizer) so that ``lm_eval --model hf`` loads it.
3. ``eval``   -- every checkpoint through the real harness CLI (``lm_eval run --model hf
   --include_path <tasks-dir> --tasks arith_passk,arith_gold_loglik --log_samples``),
   in ``--workers`` worker processes that each import lm_eval once.
4. ``tables`` -- ``lm_eval_scaling.collect.collect_tables`` over the run directories,
   then ``counts.csv``, ``gold.csv``, ``ladder.csv`` and ``metadata.json`` in
   ``--out-dir``.

Weights, tokenised data and harness outputs stay under ``--work-dir`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
#: where the default (`full`) build writes its tables: the package's built-in default input
TABLES = HERE.parents[1] / "lm_eval_scaling" / "data" / "tiny_ladder"
if __package__:  # imported as examples.tiny_ladder.build (tests)
    from . import _train as T
else:  # run as a script
    sys.path.insert(0, str(HERE))
    import _train as T

log = logging.getLogger("tiny_ladder")

Stage = Literal["data", "train", "eval", "tables"]
STAGES: tuple[Stage, ...] = ("data", "train", "eval", "tables")
TASKS = ("arith_passk", "arith_gold_loglik")


@dataclass(frozen=True)
class Preset:
    """Everything that defines a ladder build (recorded in metadata.json)."""

    sizes: tuple[T.ModelSize, ...]
    batch_rows: tuple[int, ...]
    lrs: tuple[float, ...]
    tokens_per_param_max: float
    tokens_per_param_min: float
    checkpoints: int
    seq_len: int = 128
    cooldown_frac: float = 0.2
    warmup_steps: int = 50
    vocab_size: int = 384
    data_seed: int = 20250901
    train_seed: int = 0
    n_samples: int = 64
    test_size: int = 100
    max_gen_toks: int = 64
    eval_batch_size: int = 256
    train_problems: int | None = None
    """train problems generated (None: enough for the largest budget, ~45 tokens each)"""
    tokens_min: float | None = None
    tokens_max: float | None = None
    """absolute token budgets of the first and last checkpoint, the same for every size
    (overrides ``tokens_per_param_min/max`` when both are set)"""
    arith_mix: str = "v2"
    """difficulty mix of the problems (``lm_eval_scaling.harness.arith.MIXES``), train and eval"""


_S25K = T.ModelSize("arith-25k", hidden=32, layers=2, heads=2)
_S55K = T.ModelSize("arith-55k", hidden=48, layers=2, heads=3)
_S100K = T.ModelSize("arith-100k", hidden=64, layers=2, heads=4)

# the default (the committed tables): the "wide" difficulty mix (1-4 operations x 1-3 digit
# numbers), so that pass@1 is a mixture of many per-problem transitions; 4 sizes, 5 annealed
# checkpoints each at 20 -> 80 tokens per non-embedding parameter
_FULL = Preset(
    sizes=(_S25K, _S55K, _S100K, T.ModelSize("arith-150k", hidden=80, layers=2, heads=5)),
    batch_rows=(16, 16, 16, 16),
    lrs=(4e-3, 3.5e-3, 3e-3, 3e-3),
    tokens_per_param_max=80.0,
    tokens_per_param_min=20.0,
    checkpoints=5,
    warmup_steps=100,
    seq_len=160,
    max_gen_toks=96,
    arith_mix="wide",
    # fixed (= what the largest budget needs) so that a rebuild reproduces the data
    train_problems=187_845,
)
# the default until 2026-11 (history; docs/tiny_ladder.md): the "v2" mix, 3 -> 24 tokens per
# non-embedding parameter; pass@1 sits at a floor, then jumps at the top
_NARROW = Preset(
    sizes=(_S25K, _S55K, _S100K, T.ModelSize("arith-200k", hidden=64, layers=4, heads=4)),
    batch_rows=(8, 12, 16, 24),
    lrs=(4e-3, 3.5e-3, 3e-3, 3e-3),
    tokens_per_param_max=24.0,
    tokens_per_param_min=3.0,
    checkpoints=5,
    # fixed (sized for a 400K-parameter size at 24 tokens/parameter, dropped to fit the
    # time budget) so that a rebuild from nothing reproduces the committed data exactly
    train_problems=219_041,  # 13.2M packed tokens: `long` sees no problem twice either
)

PRESETS: dict[str, Preset] = {
    "full": _FULL,
    # the default ladder with other initialisation seeds (same data, schedule and
    # evaluation): how much of a backtest's error is seed noise
    "full-seed1": replace(_FULL, train_seed=1),
    "full-seed2": replace(_FULL, train_seed=2),
    "narrow": _NARROW,
    # narrow's data, task and schedule; its three smaller sizes, each trained on 1.2M -> 12M
    # tokens (12-470 tokens per non-embedding parameter): algorithmic tasks need far more
    # than ~20 tokens per parameter before the smaller models learn anything
    "long": replace(_NARROW, sizes=_NARROW.sizes[:3], batch_rows=(16, 16, 16),
                    lrs=_NARROW.lrs[:3], tokens_per_param_max=0.0, tokens_per_param_min=0.0,
                    tokens_min=1.2e6, tokens_max=12e6, warmup_steps=100),
    # experiment, the forerunner of full: 4 checkpoints at 10 -> 80 tokens per parameter,
    # data sized by the largest budget
    "wide": replace(_FULL, tokens_per_param_min=10.0, checkpoints=4, train_problems=None),
    "toy": Preset(
        sizes=(
            T.ModelSize("toy-a", hidden=16, layers=1, heads=2),
            T.ModelSize("toy-b", hidden=24, layers=1, heads=2),
        ),
        batch_rows=(4, 4),
        lrs=(3e-3, 3e-3),
        tokens_per_param_max=4.0,
        tokens_per_param_min=2.0,
        checkpoints=2,
        warmup_steps=5,
        n_samples=4,
        test_size=5,
        max_gen_toks=32,
        eval_batch_size=16,
    ),
}


# --------------------------------------------------------------------------- stage 1: data


def _docs_path(work: Path) -> Path:
    return work / "data" / "packed.npz"


def stage_data(preset: Preset, work: Path) -> dict[str, object]:
    """Generate, tokenise once and pack the training set; train + save the tokenizer."""
    import numpy as np

    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.prompt import training_text

    out = _docs_path(work)
    tok_dir = work / "data" / "tokenizer"
    if out.exists() and (tok_dir / "tokenizer.json").exists():
        log.info("data: reusing %s", out)
        return json.loads((work / "data" / "data.json").read_text())
    t0 = time.perf_counter()
    n_problems = preset.train_problems
    if n_problems is None:
        need_tokens = max(_token_budgets(preset, s)[-1] for s in preset.sizes)
        n_problems = int(need_tokens / 45 * 1.05) + 1000  # ~49 tokens per document
    log.info("data: generating %d train problems (seed %d)", n_problems, preset.data_seed)
    problems = arith.generate("train", n_problems, preset.data_seed,
                              mix=preset.arith_mix)  # type: ignore[arg-type]
    texts = [training_text(p["question"], p["answer"]) for p in problems]
    tokenizer = T.train_tokenizer(texts[:20_000], preset.vocab_size)
    tokenizer.save_pretrained(tok_dir)
    log.info("data: tokenising %d documents (vocab %d)", len(texts), len(tokenizer))
    docs = tokenizer(texts)["input_ids"]
    ids, labels = T.pack_documents(docs, int(tokenizer.eos_token_id), preset.seq_len,
                                   preset.data_seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, ids=ids, labels=labels)
    info = {
        "train_problems": n_problems,
        "documents_tokens": int(sum(len(d) + 1 for d in docs)),
        "rows": int(ids.shape[0]),
        "packing_efficiency": float((labels != -100).mean()),
        "vocab_size": len(tokenizer),
        "wall_s": time.perf_counter() - t0,
    }
    (work / "data" / "data.json").write_text(json.dumps(info, indent=1))
    log.info("data: %s", info)
    return info


# --------------------------------------------------------------------------- stage 2: train


def _non_embedding(size: T.ModelSize, vocab: int) -> int:
    model = T.build_model(size, vocab, 0, 128, 0)
    return T.non_embedding_parameters(model)


def _token_budgets(preset: Preset, size: T.ModelSize, vocab: int | None = None) -> list[float]:
    """Target (non-padding) tokens of each checkpoint: log-spaced tokens per parameter."""
    import numpy as np

    if preset.tokens_min is not None and preset.tokens_max is not None:
        return [float(t) for t in np.exp(np.linspace(
            np.log(preset.tokens_min), np.log(preset.tokens_max), preset.checkpoints))]
    n = _non_embedding(size, vocab or preset.vocab_size)
    tpp = np.exp(np.linspace(np.log(preset.tokens_per_param_min),
                             np.log(preset.tokens_per_param_max), preset.checkpoints))
    return [float(t * n) for t in tpp]


def make_plans(preset: Preset, vocab: int, efficiency: float) -> list[T.RunPlan]:
    """One RunPlan per size; checkpoint budgets converted from tokens to optimiser steps."""
    plans = []
    for size, rows, lr in zip(preset.sizes, preset.batch_rows, preset.lrs):
        per_step = rows * preset.seq_len * efficiency
        steps = tuple(max(1, round(b / per_step)) for b in _token_budgets(preset, size, vocab))
        plans.append(T.RunPlan(size=size, checkpoint_steps=steps, batch_rows=rows,
                               seq_len=preset.seq_len, lr=lr,
                               warmup_steps=min(preset.warmup_steps, steps[0] // 2),
                               cooldown_frac=preset.cooldown_frac, seed=preset.train_seed))
    return plans


def stage_train(preset: Preset, work: Path, threads: int) -> list[dict[str, object]]:
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(threads)
    data = np.load(_docs_path(work))
    ids, labels = data["ids"], data["labels"]
    tokenizer = AutoTokenizer.from_pretrained(work / "data" / "tokenizer")
    efficiency = float((labels != -100).mean())
    records: list[dict[str, object]] = []
    for plan in make_plans(preset, len(tokenizer), efficiency):
        run_dir = work / "checkpoints" / plan.size.name
        done = run_dir / "run.json"
        if done.exists():
            log.info("train: reusing %s", run_dir)
            records.extend(json.loads(done.read_text())["checkpoints"])
            continue
        need_rows = plan.checkpoint_steps[-1] * plan.batch_rows
        if need_rows > ids.shape[0]:
            log.warning("train: %s needs %d rows, data has %d: data repeats", plan.size.name,
                        need_rows, ids.shape[0])
        t0 = time.perf_counter()
        recs = T.train_run(plan, ids, labels, tokenizer, run_dir)
        probe = T.build_model(plan.size, len(tokenizer), int(tokenizer.eos_token_id),
                              plan.seq_len, 0)
        extra = {"parameters": T.total_parameters(probe),
                 "non_embedding_parameters": T.non_embedding_parameters(probe)}
        rows = [{**asdict(r), **extra} for r in recs]
        info = {"plan": T.plan_to_dict(plan), "checkpoints": rows,
                "wall_s": time.perf_counter() - t0}
        done.write_text(json.dumps(info, indent=1))
        records.extend(rows)
    return records


# --------------------------------------------------------------------------- stage 3: eval


def harness_argv(ckpt: str, out: Path, preset: Preset, tasks_dir: str) -> list[str]:
    """The exact ``lm_eval`` command line that evaluates one checkpoint."""
    meta: dict[str, object] = {"n_samples": preset.n_samples,
                               "max_gen_toks": preset.max_gen_toks,
                               "arith_test_size": preset.test_size}
    meta["arith_mix"] = preset.arith_mix  # always explicit: independent of the task default
    return [
        "run", "--model", "hf",
        "--model_args", f"pretrained={ckpt},dtype=float32",
        "--include_path", tasks_dir,
        "--tasks", ",".join(TASKS),
        "--metadata", json.dumps(meta),
        "--batch_size", str(preset.eval_batch_size),
        "--device", "cpu",
        "--log_samples",
        "--output_path", str(out),
    ]


def _tasks_dir() -> str:
    """``lm-eval-scaling tasks-dir`` (the documented way to find the task YAMLs)."""
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "lm_eval_scaling", "tasks-dir"],
                          capture_output=True, text=True, check=False)
    if proc.returncode == 0 and proc.stdout.strip():
        return proc.stdout.strip().splitlines()[-1]
    from importlib.resources import files

    path = str(files("lm_eval_scaling") / "harness" / "tasks")
    log.warning("`lm-eval-scaling tasks-dir` failed (%s); using %s", proc.stderr.strip()[-200:],
                path)
    return path


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)


def _evaluate_one(argv: list[str], done_marker: str) -> float:
    """Run the lm_eval CLI in this worker process (same entry point as the console script)."""
    from lm_eval.__main__ import cli_evaluate

    t0 = time.perf_counter()
    saved = sys.argv
    sys.argv = ["lm_eval", *argv]
    try:
        cli_evaluate()
    finally:
        sys.argv = saved
    wall = time.perf_counter() - t0
    Path(done_marker).write_text(json.dumps({"wall_s": wall, "argv": argv}))
    return wall


def stage_eval(preset: Preset, work: Path, records: Sequence[dict[str, object]], workers: int,
               threads: int) -> dict[str, float]:
    from tqdm.auto import tqdm

    tdir = _tasks_dir()
    jobs = []
    walls: dict[str, float] = {}
    for r in records:
        out = work / "runs" / str(r["model"]) / str(r["revision"])
        marker = out / "DONE.json"
        if marker.exists():
            walls[f"{r['model']}@{r['revision']}"] = json.loads(marker.read_text())["wall_s"]
            continue
        if out.exists():  # an interrupted run: start it again from scratch, never merge halves
            shutil.rmtree(out)
        out.mkdir(parents=True)
        jobs.append((f"{r['model']}@{r['revision']}",
                     harness_argv(str(r["path"]), out, preset, tdir), str(marker)))
    if not jobs:
        log.info("eval: all %d checkpoints already evaluated", len(records))
        return walls
    log.info("eval: %d checkpoints through lm_eval, %d workers x %d threads", len(jobs),
             workers, max(1, threads // workers))
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker,
                             initargs=(max(1, threads // workers),)) as pool:
        futures = {pool.submit(_evaluate_one, argv, marker): name for name, argv, marker in jobs}
        for fut in tqdm(as_completed(futures), total=len(futures), desc="lm_eval", unit="ckpt"):
            name = futures[fut]
            walls[name] = fut.result()
            log.info("eval: %s done in %.0fs", name, walls[name])
    return walls


# --------------------------------------------------------------------------- stage 4: tables


def stage_tables(preset: Preset, work: Path, records: Sequence[dict[str, object]],
                 out_dir: Path) -> dict[str, object]:
    import pandas as pd

    from lm_eval_scaling.collect import collect_tables
    from lm_eval_scaling.tables.schema import read_counts, read_gold, read_ladder

    by_path = {str(Path(str(r["path"])).resolve()): r for r in records}
    counts_parts, gold_parts = [], []
    for r in records:
        run = work / "runs" / str(r["model"]) / str(r["revision"])
        tables = collect_tables([run])
        for df, parts in ((tables.counts, counts_parts), (tables.gold, gold_parts)):
            df = df.copy()
            _rename_checkpoint(df, r, by_path, run)
            parts.append(df)
    counts = read_counts(pd.concat(counts_parts, ignore_index=True), name="tiny ladder counts")
    gold = read_gold(pd.concat(gold_parts, ignore_index=True), name="tiny ladder gold")
    ladder = pd.DataFrame({
        "model": [r["model"] for r in records],
        "revision": [r["revision"] for r in records],
        "parameters": [r["parameters"] for r in records],
        "non_embedding_parameters": [r["non_embedding_parameters"] for r in records],
        "tokens": [r["target_tokens"] for r in records],
    })
    read_ladder(ladder, name="tiny ladder ladder")  # validate
    out_dir.mkdir(parents=True, exist_ok=True)
    counts.to_csv(out_dir / "counts.csv", index=False)
    gold.to_csv(out_dir / "gold.csv", index=False)
    ladder.to_csv(out_dir / "ladder.csv", index=False)
    return {"counts_rows": len(counts), "gold_rows": len(gold), "checkpoints": len(ladder)}


def _rename_checkpoint(df, record: dict[str, object], by_path: dict[str, dict[str, object]],
                       run: Path) -> None:
    """Name rows ``model=<size>``, ``revision=step<T>`` (the harness knows only the path)."""
    models = set(df["model"].astype(str)) if len(df) else set()
    for m in models:
        key = str(Path(m).resolve())
        if key in by_path and by_path[key] is not record:
            raise RuntimeError(f"{run}: results name checkpoint {m}, expected {record['path']}")
    df["model"] = record["model"]
    df["revision"] = record["revision"]


# --------------------------------------------------------------------------- main


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("torch", "transformers", "tokenizers", "lm_eval", "lm-eval-scaling", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def build(preset_name: str, work: Path, out_dir: Path, stages: Sequence[Stage], workers: int,
          threads: int, only: Sequence[str] = (), note: str = "") -> dict[str, object]:
    """Run ``stages`` of preset ``preset_name``; ``only`` restricts train/eval to those sizes."""
    preset = PRESETS[preset_name]
    if only:
        unknown = sorted(set(only) - {s.name for s in preset.sizes})
        if unknown:
            raise SystemExit(f"--only: unknown size(s) {unknown}")
        if "tables" in stages:
            raise SystemExit("--only cannot be combined with the tables stage (it needs all sizes)")
        idx = [i for i, s in enumerate(preset.sizes) if s.name in only]
        preset = replace(preset, sizes=tuple(preset.sizes[i] for i in idx),
                         batch_rows=tuple(preset.batch_rows[i] for i in idx),
                         lrs=tuple(preset.lrs[i] for i in idx))
    work.mkdir(parents=True, exist_ok=True)
    meta_path = work / "build_times.json"
    times = _add_time(meta_path, None, 0.0)
    data_info: dict[str, object] = {}
    records: list[dict[str, object]] = []
    for stage in STAGES:
        if stage not in stages and stage != "data":
            continue
        t0 = time.perf_counter()
        if stage == "data":
            data_info = stage_data(preset, work)
        elif stage == "train":
            records = stage_train(preset, work, threads)
        elif stage == "eval":
            stage_eval(preset, work, records or _records(work, preset, require_all=False),
                       workers, threads)
        else:
            summary = stage_tables(preset, work, records or _records(work, preset), out_dir)
            meta = _metadata(preset_name, preset, work, data_info, records or _records(work, preset),
                             times, summary, note)
            (out_dir / "metadata.json").write_text(json.dumps(meta, indent=1) + "\n")
        times = _add_time(meta_path, stage, time.perf_counter() - t0)
        log.info("stage %s: %.0fs", stage, time.perf_counter() - t0)
    return times


def _add_time(path: Path, stage: str | None, seconds: float) -> dict[str, float]:
    """Add ``seconds`` to ``stage`` in the JSON file ``path``; return its new content.

    Read, added to and rewritten under an exclusive lock, so that build processes running
    in parallel on one work dir (``--only``) add up instead of overwriting each other.
    """
    import fcntl

    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        times: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}
        if stage is not None:
            times[stage] = times.get(stage, 0.0) + seconds
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(times, indent=1))
            tmp.replace(path)
    return times


def _records(work: Path, preset: Preset, *, require_all: bool = True) -> list[dict[str, object]]:
    """Checkpoint records of the trained sizes (all of them, unless ``require_all=False``)."""
    out = []
    for size in preset.sizes:
        p = work / "checkpoints" / size.name / "run.json"
        if not p.exists():
            if not require_all:
                log.warning("%s missing: %s not trained yet, not evaluated now", p, size.name)
                continue
            raise SystemExit(f"{p} missing: run the train stage first")
        out.extend(json.loads(p.read_text())["checkpoints"])
    return out


def _metadata(preset_name, preset, work, data_info, records, times, summary,
              note) -> dict[str, object]:
    runs = {}
    for size in preset.sizes:
        info = json.loads((work / "checkpoints" / size.name / "run.json").read_text())
        runs[size.name] = {"plan": info["plan"], "train_wall_s": info["wall_s"]}
    evals = {}  # always from the per-checkpoint markers (eval may have run in several pieces)
    for r in records:
        marker = work / "runs" / str(r["model"]) / str(r["revision"]) / "DONE.json"
        evals[f"{r['model']}@{r['revision']}"] = json.loads(marker.read_text())["wall_s"]
    return {
        "preset": preset_name,
        "note": note,
        "description": "tiny GPT-NeoX ladder trained on CPU on lm_eval_scaling.harness.arith problems",
        "settings": {k: v for k, v in asdict(preset).items() if k != "sizes"},
        "sizes": [asdict(s) for s in preset.sizes],
        "data": data_info or json.loads((work / "data" / "data.json").read_text()),
        "runs": runs,
        "checkpoints": [
            {k: r[k] for k in ("model", "revision", "steps", "tokens", "target_tokens",
                               "parameters", "non_embedding_parameters", "final_loss")}
            for r in records
        ],
        "tokens_column": "target_tokens: non-padding tokens trained on (labels != -100)",
        "compute_convention": "C = 6 * parameters * tokens with parameters = total "
                              "(embeddings included), as in the Pythia ladder; "
                              "non_embedding_parameters is given beside it",
        "eval": {"tasks": list(TASKS), "harness_argv_example": harness_argv(
            "<checkpoint dir>", Path("<run dir>"), preset, "<lm-eval-scaling tasks-dir>"),
            "wall_s": evals},
        "wall_s": times,
        "wall_s_note": "wall_s: elapsed seconds per stage, summed over build.py invocations "
                       "(resumed builds add up, and so do processes run in parallel with "
                       "--only, so a sum can exceed the elapsed time); train_wall_s_total: "
                       "sum of the per-size training times; eval_worker_s_total: sum of the per-checkpoint lm_eval "
                       "times (divide by the number of workers for elapsed time)",
        "train_wall_s_total": sum(r["train_wall_s"] for r in runs.values()),
        "eval_worker_s_total": sum(evals.values()),
        "machine": {"cpu_count": os.cpu_count(), "load_average_at_end": list(os.getloadavg())},
        "versions": _versions(),
        "tables": summary,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="full")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="weights, data, harness outputs (default: _work/<preset> here; presets "
                         "share size names, so never point two presets at one work dir)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where the tables go (default: this directory for 'full', "
                         "<work-dir>/tables otherwise)")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help=f"comma list of {STAGES} (data always runs or is reused)")
    ap.add_argument("--only", default="", help="comma list of sizes to train/evaluate "
                    "(e.g. to run sizes in parallel processes); not with the tables stage")
    ap.add_argument("--note", default="", help="free text stored in metadata.json")
    ap.add_argument("--workers", type=int, default=2, help="parallel lm_eval worker processes")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for training; eval workers use max(1, threads // workers). "
                         "1 is fastest for these tiny models, and much faster on a busy machine")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stages = tuple(s for s in args.stages.split(",") if s)
    bad = [s for s in stages if s not in STAGES]
    if bad:
        ap.error(f"unknown stage(s) {bad}; choose from {STAGES}")
    work_dir = args.work_dir or HERE / "_work" / args.preset
    out_dir = args.out_dir or (TABLES if args.preset == "full" else work_dir / "tables")
    t0 = time.perf_counter()
    only = tuple(s for s in args.only.split(",") if s)
    build(args.preset, work_dir, out_dir, stages, args.workers, args.threads, only, args.note)
    log.info("build finished in %.0fs", time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
