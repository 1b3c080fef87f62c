"""GPU check of the sampling engine (needs a CUDA GPU and ``pip install vllm``).

Builds a random GPT-NeoX of ~100M parameters locally (hidden 768, 14 layers; the byte-level
BPE tokenizer of the test suite), then, each backend in its own
``python -m lm_eval_scaling run`` process:

1. samples/s of ``vllm``, ``vllm-repeats`` and ``hf-repeats`` on the sampling task
   (N samples per problem, max_gen_toks tokens; startup measured by the same command with
   N = 1, max_gen_toks = 1 and subtracted);
2. that the N samples of every problem are distinct, for each backend;
3. that gold log-likelihoods of ``hf`` and ``vllm`` (both float32) agree within a
   relative tolerance of 1e-3 (``collect``'s default ``--gold-rtol``), problem by problem.

Prints one line per measurement and ``GPU CHECK: PASS`` or ``GPU CHECK: FAIL (...)``;
exits 1 on failure.  Default task: ``arith`` (synthetic, no data needed); ``--task gsm8k``
uses ``LM_EVAL_SCALING_GSM8K_DIR``.  About 5 minutes on one H100 with the defaults.

    python benchmarks/gpu_check.py [--samples 64] [--problems 16] [--max-gen-toks 128]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLD_RTOL = 1e-3


def _build_model(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("_conftest", REPO / "tests" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_model(out, hidden_size=768, num_layers=14, num_heads=12)


def _run(model: str, model_args: str, task: str, out: Path, metadata: dict[str, int],
         problems: int, batch_size: str) -> float:
    cmd = [sys.executable, "-m", "lm_eval_scaling", "-q", "run", "--model", model,
           "--model_args", model_args, "--tasks", task, "--limit", str(problems),
           "--batch_size", batch_size, "--seed", "1", "--log_samples",
           "--output_path", str(out), "--metadata", json.dumps(metadata)]
    if model.startswith("hf"):
        cmd += ["--device", "cuda"]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-4000:])
        raise SystemExit(f"GPU CHECK: FAIL ({model} on {task} exited {proc.returncode})")
    return seconds


def _samples(out: Path, task: str) -> list[dict]:
    (path,) = out.rglob(f"samples_{task}_*.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--max-gen-toks", type=int, default=128)
    ap.add_argument("--task", choices=("arith", "gsm8k"), default="arith")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None:
        raise SystemExit("GPU CHECK: needs a CUDA GPU and vllm installed")
    passk, gold = f"{args.task}_passk", f"{args.task}_gold_loglik"
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = _build_model(Path(tmp) / "neox100m")
        from transformers import AutoModelForCausalLM

        params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
        print(f"device {torch.cuda.get_device_name()}; random GPT-NeoX {params / 1e6:.0f}M "
              f"parameters; {passk}: {args.problems} problems x N={args.samples}, "
              f"max_gen_toks {args.max_gen_toks}")
        backends = {
            "vllm": f"pretrained={model_dir},dtype=float32,seed=1,gpu_memory_utilization=0.5",
            "vllm-repeats": f"pretrained={model_dir},dtype=float32,seed=1,"
                            "gpu_memory_utilization=0.5",
            "hf-repeats": f"pretrained={model_dir},dtype=float32",
        }
        full = {"n_samples": args.samples, "max_gen_toks": args.max_gen_toks}
        startup_meta = {"n_samples": 1, "max_gen_toks": 1}
        for name, model_args in backends.items():
            batch = "auto" if name.startswith("vllm") else str(args.samples)
            out = Path(tmp) / name
            startup = _run(name, model_args, passk, Path(tmp) / f"{name}-startup", startup_meta,
                           args.problems, batch)
            total = _run(name, model_args, passk, out, full, args.problems, batch)
            rate = args.samples * args.problems / max(total - startup, 1e-9)
            rows = _samples(out, passk)
            distinct = min(len(set(r["resps"][0])) for r in rows)
            print(f"{name:>13}: run {total:6.1f} s, startup {startup:5.1f} s, "
                  f"{rate:8.1f} samples/s; fewest distinct samples of a problem: "
                  f"{distinct}/{args.samples}", flush=True)
            if distinct < args.samples:
                failures.append(f"{name}: only {distinct} distinct samples of a problem")

        logprobs = {}
        for name in ("hf", "vllm"):
            out = Path(tmp) / f"gold-{name}"
            model_args = backends["vllm" if name == "vllm" else "hf-repeats"]
            _run(name, model_args, gold, out, {}, args.problems,
                 "auto" if name == "vllm" else "8")
            logprobs[name] = {r["doc_id"]: r["gold_logprob"] for r in _samples(out, gold)}
        worst = max(abs(logprobs["hf"][d] - logprobs["vllm"][d]) / max(abs(logprobs["hf"][d]), 1e-9)
                    for d in logprobs["hf"])
        print(f"gold log-likelihood, hf vs vllm (float32), {len(logprobs['hf'])} problems: "
              f"largest relative difference {worst:.2e} (tolerance {GOLD_RTOL:g})")
        if not math.isfinite(worst) or worst > GOLD_RTOL:
            failures.append(f"gold log-likelihoods differ by {worst:.2e} > {GOLD_RTOL:g}")
    print("GPU CHECK: " + ("PASS" if not failures else "FAIL (" + "; ".join(failures) + ")"))
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
