"""Benchmark: the stop-sequence check of ``hf-repeats`` against lm_eval's, in one run.

lm_eval's ``hf`` backend stops a row when a stop string appears in its last generated
tokens, with one ``MultiTokenEOSCriteria`` per stop string, each decoding every row once
per step.  ``hf-repeats`` decodes each open row once per step for all stop strings
(``_StopCheck``).  On an H100 the stop checks were about half of the decode loop's time for
both backends (``gpu_check.py --profile``: 4.3 of 9.0 s in ``hf-repeats``, 5.5 of 8.9 s
in stock ``generate``).  This times both checks on the same random token streams
(``--rows`` x ``--steps``, the stop strings of ``arith_passk``, the test
suite's byte-level BPE tokenizer), rows dropping out as they stop, and prints the ratio.

    python benchmarks/stop_check.py [--rows 64] [--steps 128]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from lm_eval.models.utils_hf import stop_sequences_criteria
from transformers import AutoTokenizer

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lm_eval_scaling.models.hf_repeats import _StopCheck

UNTIL = ["Question:", "\n\n", "</s>", "<|endoftext|>", "<|im_end|>"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--steps", type=int, default=128)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("_conftest", REPO / "tests" / "conftest.py")
    assert spec and spec.loader
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    with tempfile.TemporaryDirectory() as tmp:
        tok = AutoTokenizer.from_pretrained(conftest.build_tiny_model(Path(tmp) / "m"))
    rng = np.random.default_rng(0)
    # random tokens; about one row in 200 steps meets "\n\n" by chance, so most run to the end
    streams = rng.integers(0, len(tok), size=(args.rows, args.steps)).tolist()
    prompt = [1] * 16

    def lm_eval_check() -> list[int]:
        criteria = stop_sequences_criteria(tok, UNTIL, len(prompt), args.rows)
        ends = [args.steps] * args.rows
        for step in range(args.steps):
            seq = torch.tensor([prompt + s[:step + 1] for s in streams])
            for crit in criteria:
                crit(seq, None)
            for r in range(args.rows):
                if ends[r] == args.steps and any(c.done_tracker[r] for c in criteria):
                    ends[r] = step + 1
            if all(e < args.steps for e in ends):
                break
        return ends

    def our_check() -> list[int]:
        check = _StopCheck(tok, UNTIL)
        ends = [args.steps] * args.rows
        for step in range(args.steps):
            open_rows = [r for r in range(args.rows) if ends[r] == args.steps]
            if not open_rows:
                break
            for r, hit in zip(open_rows, check([streams[r][:step + 1] for r in open_rows]), strict=True):
                if hit:
                    ends[r] = step + 1
        return ends

    times = {}
    ends = {}
    for label, fn in (("lm_eval (one criterion per stop string)", lm_eval_check),
                      ("hf-repeats (one decode per step)", our_check)):
        t0 = time.perf_counter()
        ends[label] = fn()
        times[label] = time.perf_counter() - t0
        print(f"  {label:<42s} {1e3 * times[label] / args.steps:7.3f} ms/step")
    a, b = times.values()
    first, second = ends.values()
    print(f"  {args.rows} rows x {args.steps} steps, {len(UNTIL)} stop strings; rows stopped: "
          f"{sum(e < args.steps for e in first)}; same stopping steps: {first == second}")
    print(f"  speed-up of the stop check: {a / b:.1f}x")


if __name__ == "__main__":
    main()
