"""Benchmark: samples/s of lm_eval's ``hf`` backend on ``arith_passk`` with a tiny model.

Setting (issue 3): a tiny random GPT-NeoX (built on the spot, as in the test suite),
N = 64 samples per problem, 20 problems, CPU, max_gen_toks 128.  In the same run:

* harness  -- ``lm_eval.simple_evaluate`` on ``arith_passk`` (``repeats: 64``: the
  backend prefills each prompt 64 times);
* baseline -- plain ``transformers`` ``generate(num_return_sequences=64)`` on the same
  20 prompts with the same length limit (one prefill per prompt, no stop sequences).

Prints samples/s of both and their ratio.  A random model rarely emits a stop
sequence, so both generate about max_gen_toks tokens per sample.

    python benchmarks/hf_throughput.py [--samples 64] [--problems 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _build_tiny_model(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("_conftest", REPO / "tests" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_model(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--problems", type=int, default=20)
    ap.add_argument("--max-gen-toks", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    import transformers
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from lm_eval_scaling.harness import arith, tasks_dir
    from lm_eval_scaling.harness.prompt import format_question

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = _build_tiny_model(Path(tmp) / "tiny")
        total = args.samples * args.problems

        tm = TaskManager(include_path=str(tasks_dir()), include_defaults=False,
                         metadata={"n_samples": args.samples, "max_gen_toks": args.max_gen_toks})
        t0 = time.perf_counter()
        simple_evaluate(model="hf", model_args=f"pretrained={model_dir},dtype=float32",
                        tasks=["arith_passk"], task_manager=tm, limit=args.problems,
                        batch_size=args.batch_size, device="cpu")
        harness_s = time.perf_counter() - t0

        tok = transformers.AutoTokenizer.from_pretrained(model_dir)
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir,
                                                                  dtype=torch.float32).eval()
        prompts = [format_question(p["question"])
                   for p in arith.generate("test", args.problems, arith.SEED)]
        torch.manual_seed(0)
        t0 = time.perf_counter()
        with torch.no_grad():
            for prompt in prompts:
                ids = tok(prompt, return_tensors="pt")
                model.generate(**ids, do_sample=True, temperature=1.0,
                               max_new_tokens=args.max_gen_toks, min_new_tokens=args.max_gen_toks,
                               num_return_sequences=args.samples, pad_token_id=tok.eos_token_id)
        direct_s = time.perf_counter() - t0

    print(f"{args.problems} problems x N={args.samples} = {total} samples, "
          f"<= {args.max_gen_toks} new tokens, {args.threads} threads")
    print(f"harness (lm_eval hf, repeats)        : {harness_s:7.1f} s  {total / harness_s:7.1f} samples/s"
          " (includes model load)")
    print(f"baseline (generate num_return_seq.)  : {direct_s:7.1f} s  {total / direct_s:7.1f} samples/s")
    print(f"harness / baseline throughput ratio  : {direct_s / harness_s:.2f}")


if __name__ == "__main__":
    main()
