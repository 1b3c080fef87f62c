"""Oracles and checks shared by several test modules (not a test module itself)."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from lm_eval_scaling.tables.ladder import load_ladder
from lm_eval_scaling.tables.schema import read_counts

#: the compute law behind :func:`law_tables`
TRUTH = {"E0": 2.0, "C0": 3.0e3, "alpha": 0.22}


def exact_pass(n: int, c: int, k: int) -> Fraction:
    """Oracle: 1 - C(n-c, k)/C(n, k) as an exact fraction (product over min(k, c) factors)."""
    if n - c < k:
        return Fraction(1)
    ratio = Fraction(1)
    if k <= c:
        for j in range(k):
            ratio *= Fraction(n - c - j, n - j)
    else:
        for i in range(c):
            ratio *= Fraction(n - k - i, n - i)
    return 1 - ratio


def law_tables(n_samples: int = 200_000, problems: int = 100, seed: int = 3):
    """Counts whose pass@1 follows TRUTH's compute law (difficulties u_i with mean 1)."""
    rng = np.random.default_rng(seed)
    u = rng.lognormal(0.0, 0.5, problems)
    u /= u.mean()
    counts, ladder = [], []
    for i, n_params in enumerate(np.geomspace(1e7, 1e10, 7)):
        for tpp in (2, 8, 32, 128):
            tokens = n_params * tpp
            C = 6 * n_params * tokens
            P = math.exp(-(TRUTH["E0"] + TRUTH["C0"] * C ** -TRUTH["alpha"]))
            counts.append(pd.DataFrame({
                "model": f"m{i}", "revision": f"t{tpp}", "problem_id": np.arange(problems),
                "num_samples": n_samples, "num_correct": rng.binomial(n_samples, u * P)}))
            ladder.append({"model": f"m{i}", "revision": f"t{tpp}", "parameters": n_params,
                           "tokens": tokens})
    return read_counts(pd.concat(counts, ignore_index=True)), load_ladder(pd.DataFrame(ladder))


def data_axes(fig: Figure) -> list:
    """Data axes (not colorbars)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _texts(fig: Figure) -> list[tuple[str, object]]:
    """Every text the figure draws (tick labels only for ticks inside the view) and its box."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    texts: list[Text] = list(fig.texts)
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    for legend in fig.legends:
        texts.extend(legend.get_texts())
        texts.append(legend.get_title())
    for ax in fig.axes:
        texts.extend([ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label])
        texts.extend(ax.texts)
        for axis in (ax.xaxis, ax.yaxis):
            texts.append(axis.get_offset_text())  # e.g. "1e-17" above a linear axis
            for tick in axis._update_ticks():  # the ticks actually drawn
                texts.extend([tick.label1, tick.label2])
        legend = ax.get_legend()
        if legend is not None:
            texts.extend(legend.get_texts())
    out = []
    for t in {id(t): t for t in texts}.values():
        if t.get_visible() and t.get_text().strip():
            out.append((t.get_text(), t.get_window_extent(renderer)))
    return out


def assert_no_text_overlap(fig: Figure) -> None:
    """No two visible texts (titles, labels, tick labels, legend entries) overlap."""
    boxes = _texts(fig)
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        if a.width == 0 or b.width == 0:
            continue
        overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert not (overlap_w > 1.5 and overlap_h > 1.5), f"{ta!r} overlaps {tb!r}"


def assert_no_empty_panel(fig: Figure) -> None:
    for ax in data_axes(fig):
        assert ax.lines or ax.collections or ax.patches, f"empty panel {ax.get_title()!r}"


# --------------------------------------------------------------------------- lm_eval output

#: the date suffix of the lm_eval files written by :func:`write_run`
DATE = "2025-01-02T03-04-05.678901"


def task_config(task: str, **overrides: Any) -> dict[str, Any]:
    """The config lm_eval logs for a sampling task (overrides replace fields)."""
    cfg = {
        "task": task, "output_type": "generate_until", "doc_to_text": "def doc_to_text...",
        "num_fewshot": 5, "repeats": 4,
        "generation_kwargs": {"until": ["\n\n"], "do_sample": True, "temperature": 1.0,
                              "max_gen_toks": 256},
        "metadata": {"version": 1.0, "n_samples": 4, "pretrained": "m"},
    }
    cfg.update(overrides)
    return cfg


def write_run(
    root: Path,
    task_lines: dict[str, list[dict[str, Any]]],
    *,
    model_args: Any = None,
    seed: tuple[int, int, int] = (0, 1234, 1234),
    date: str = DATE,
    configs: dict[str, dict[str, Any]] | None = None,
    backend: str = "hf",
    model_revision: str | None = "main",
    raw_tail: dict[str, str] | None = None,
) -> Path:
    """Write ``results_<date>.json`` + ``samples_<task>_<date>.jsonl`` like lm_eval does."""
    run = root / "model_dir"
    run.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "model": backend,
        "model_args": model_args if model_args is not None else {"pretrained": "org/model"},
        "random_seed": seed[0], "numpy_seed": seed[1], "torch_seed": seed[2],
        "fewshot_seed": 1234,
    }
    if model_revision is not None:
        config["model_revision"] = model_revision
    configs = configs or {t: task_config(t) for t in task_lines}
    results = {"results": {t: {} for t in task_lines}, "configs": configs,
               "versions": {t: c.get("metadata", {}).get("version") for t, c in configs.items()},
               "config": config, "system_instruction": None, "chat_template": None,
               "fewshot_as_multiturn": None}
    path = run / f"results_{date}.json"
    path.write_text(json.dumps(results))
    for task, lines in task_lines.items():
        text = "".join(json.dumps(line) + "\n" for line in lines)
        text += (raw_tail or {}).get(task, "")
        (run / f"samples_{task}_{date}.jsonl").write_text(text)
    return path
