"""Benchmark: samples/s of stock lm_eval ``hf`` vs ``hf-repeats`` through the real CLI.

Setting: ``gsm8k_passk`` with an 8-shot prompt (the local GSM8K copy named by
``LM_EVAL_SCALING_GSM8K_DIR``), a random GPT-NeoX of ~13M parameters (hidden 512,
4 layers, built on the spot like the test suite's tiny model), N samples per problem,
``max_gen_toks`` 32, 4 problems, CPU.  Every measurement is one
``python -m lm_eval_scaling run ...`` process, timed from the outside; the startup
(imports, model and data loading, one prefill per problem) is measured by the same
command with N = 1 and max_gen_toks = 1 and subtracted, so the ratio is that of the
generation work (a run whose generation time is below a quarter of its startup time
prints no rate: that is within the startup's run-to-run noise).  ``--batch_size`` is N (one sub-batch per problem for hf-repeats; stock
hf batches the N repeats of one problem together).

    LM_EVAL_SCALING_GSM8K_DIR=DIR python benchmarks/sampling.py                  # N = 32
    LM_EVAL_SCALING_GSM8K_DIR=DIR python benchmarks/sampling.py --samples 8,32,128 \\
        --fewshot 0,2,8 --problems 1                                              # curves
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: generation time below this fraction of the startup time is within its noise: no rate
NOISE_FLOOR = 0.25


def _build_model(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("_conftest", REPO / "tests" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_model(out, hidden_size=512, num_layers=4, num_heads=8)


def _run(model: str, model_dir: Path, out: Path, *, samples: int, max_gen_toks: int,
         fewshot: int, problems: int, threads: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one CLI run."""
    cmd = [sys.executable, "-m", "lm_eval_scaling", "-q", "run", "--model", model,
           "--model_args", f"pretrained={model_dir},dtype=float32", "--device", "cpu",
           "--batch_size", str(samples), "--tasks", "gsm8k_passk", "--num_fewshot", str(fewshot),
           "--limit", str(problems), "--seed", "1", "--output_path", str(out),
           "--metadata", json.dumps({"n_samples": samples, "max_gen_toks": max_gen_toks})]
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{model} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _prompt_tokens(model_dir: Path, fewshot: int) -> int:
    """Tokens of the first problem's prompt, as lm_eval builds it."""
    from lm_eval.tasks import TaskManager
    from transformers import AutoTokenizer

    from lm_eval_scaling.harness import tasks_dir

    tm = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    task = tm.load(["gsm8k_passk"])["tasks"]["gsm8k_passk"]
    task.set_config("num_fewshot", fewshot)
    doc = task.test_docs()[0]
    context = task.fewshot_context(doc, num_fewshot=fewshot)
    return len(AutoTokenizer.from_pretrained(model_dir)(context)["input_ids"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", default="32", help="N values, comma-separated (default 32)")
    ap.add_argument("--fewshot", default="8", help="few-shot counts, comma-separated (default 8)")
    ap.add_argument("--problems", type=int, default=4)
    ap.add_argument("--max-gen-toks", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not os.environ.get("LM_EVAL_SCALING_GSM8K_DIR"):
        sys.exit("set LM_EVAL_SCALING_GSM8K_DIR to a directory with GSM8K's train/test.jsonl")
    sample_counts = [int(x) for x in args.samples.split(",")]
    fewshots = [int(x) for x in args.fewshot.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = _build_model(Path(tmp) / "neox13m")
        import torch  # noqa: F401  (after the build: the build imports it anyway)
        from transformers import AutoModelForCausalLM

        params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
        print(f"random GPT-NeoX, {params / 1e6:.1f}M parameters; {args.problems} problems, "
              f"max_gen_toks {args.max_gen_toks}, {args.threads} threads; times of whole "
              "CLI runs (wall / CPU seconds), startup = the same run with N = 1, "
              "max_gen_toks = 1; samples/s and speed-up from CPU time (wall time in [])")
        print(f"{'shots':>5} {'prompt tok':>10} {'N':>5} {'backend':>10} {'run s':>13} "
              f"{'startup s':>13} {'gen s':>13} {'samples/s':>9} {'speed-up':>15}")
        for fewshot in fewshots:
            tokens = _prompt_tokens(model_dir, fewshot)
            startup = {model: _run(model, model_dir, Path(tmp) / "o", samples=1, max_gen_toks=1,
                                   fewshot=fewshot, problems=args.problems,
                                   threads=args.threads)
                       for model in ("hf", "hf-repeats")}
            for n in sample_counts:
                rates: dict[str, tuple[float, float]] = {}
                for model in ("hf", "hf-repeats"):
                    total = _run(model, model_dir, Path(tmp) / "o", samples=n,
                                 max_gen_toks=args.max_gen_toks, fewshot=fewshot,
                                 problems=args.problems, threads=args.threads)
                    gen = [t - s for t, s in zip(total, startup[model], strict=True)]
                    if any(g < NOISE_FLOOR * t for g, t in zip(gen, startup[model], strict=True)):
                        # less generation work than the run-to-run noise of the startup
                        rates[model] = (math.nan, math.nan)
                    else:
                        rates[model] = (n * args.problems / gen[1], n * args.problems / gen[0])
                    speedup = (f"{rates['hf-repeats'][0] / rates['hf'][0]:6.2f}x "
                               f"[{rates['hf-repeats'][1] / rates['hf'][1]:.2f}x]"
                               if model == "hf-repeats" else "")
                    if model == "hf-repeats" and math.isnan(rates["hf-repeats"][0] / rates["hf"][0]):
                        speedup = "below noise"
                    print(f"{fewshot:>5} {tokens:>10} {n:>5} {model:>10} "
                          f"{total[0]:6.1f}/{total[1]:6.1f} "
                          f"{startup[model][0]:6.1f}/{startup[model][1]:6.1f} "
                          f"{gen[0]:6.1f}/{gen[1]:6.1f} {rates[model][0]:9.1f} {speedup:>15}",
                          flush=True)


if __name__ == "__main__":
    main()
