"""Benchmark: peak memory of ``collect`` on a large synthetic ``--log_samples`` file.

Writes, in a temporary directory, an lm_eval run (``results_<date>.json`` + one
``samples_arith_passk_<date>.jsonl`` of about ``--size-gb`` GB: every line holds N raw
responses, as lm_eval writes them), then runs in fresh subprocesses, in the same run:

* baseline -- ``import lm_eval_scaling.collect`` and nothing else;
* collect  -- ``collect_tables([run_dir])``.

Prints the file size, each peak RSS, the increment of collect over the baseline and its
ratio to the file size (streaming keeps it at a few line sizes), and collect's MB/s.

    python benchmarks/collect_memory.py [--size-gb 1.0] [--samples-per-line 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATE = "2025-01-01T00-00-00.000000"

_CHILD = """
import resource, sys, time
t0 = time.perf_counter()
from lm_eval_scaling.collect import collect_tables
if sys.argv[1] == "collect":
    result = collect_tables([sys.argv[2]], progress=False)
    assert len(result.counts) == int(sys.argv[3]), len(result.counts)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - t0)
"""


def write_run(root: Path, size_bytes: int, n: int) -> tuple[Path, int]:
    """A run directory whose samples file is about ``size_bytes``; returns (file, lines)."""
    run = root / "model"
    run.mkdir(parents=True)
    cfg = {"task": "arith_passk", "output_type": "generate_until",
           "generation_kwargs": {"until": ["\n\n"], "do_sample": True, "temperature": 1.0},
           "metadata": {"version": 1.0}}
    (run / f"results_{DATE}.json").write_text(json.dumps({
        "results": {"arith_passk": {}}, "configs": {"arith_passk": cfg},
        "versions": {"arith_passk": 1.0},
        "config": {"model": "hf", "model_args": {"pretrained": "synthetic"},
                   "random_seed": 0, "numpy_seed": 1, "torch_seed": 1}}))
    response = " He has 4 * 2 = 8 marbles.\nHe has 8 - 1 = 7 marbles.\n#### 7" * 6
    path = run / f"samples_arith_passk_{DATE}.jsonl"
    lines = 0
    with path.open("w", encoding="utf-8") as fh:
        while fh.tell() < size_bytes:
            c = lines % (n + 1)
            line = {"doc_id": lines, "doc": {"question": "q", "problem_id": lines},
                    "target": "t", "arguments": {"gen_args_0": {"arg_0": "Question: q\nAnswer:"}},
                    "resps": [[response] * n], "filtered_resps": [["7"] * n],
                    "filter": "all", "metrics": ["num_samples", "num_correct"],
                    "prompt_hash": f"h{lines}", "num_samples": n, "num_correct": c,
                    "pass@1": c / n}
            fh.write(json.dumps(line) + "\n")
            lines += 1
    return path, lines


def child(*args: str) -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) * 1024, float(out[1])  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--samples-per-line", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path, lines = write_run(Path(tmp), int(args.size_gb * 1e9), args.samples_per_line)
        size = path.stat().st_size
        print(f"wrote {size / 1e9:.2f} GB, {lines} lines of {size / lines / 1e6:.2f} MB "
              f"({args.samples_per_line} responses each) in {time.perf_counter() - t0:.0f} s")
        base_rss, _ = child("baseline")
        rss, secs = child("collect", tmp, str(lines))
    extra = rss - base_rss
    print(f"baseline (imports only) peak RSS: {base_rss / 1e6:8.1f} MB")
    print(f"collect                 peak RSS: {rss / 1e6:8.1f} MB  ({secs:.1f} s, "
          f"{size / 1e6 / secs:.0f} MB/s)")
    print(f"collect - baseline: {extra / 1e6:.1f} MB = {extra / size:.4f} x file size "
          f"= {extra / (size / lines):.1f} x one line")


if __name__ == "__main__":
    main()
