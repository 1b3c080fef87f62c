"""GPU check of the sampling engine (needs a CUDA GPU; the vLLM legs need ``pip install vllm``).

Builds a random GPT-NeoX of ~100M parameters locally (hidden 768, 14 layers; the byte-level
BPE tokenizer of the test suite), then, each leg in its own
``python -m lm_eval_scaling run`` process:

1. samples/s of ``hf``, ``hf-repeats`` (and ``vllm``, ``vllm-repeats`` where vLLM is
   installed) on the sampling task: N samples per problem, max_gen_toks tokens,
   ``--batch_size`` N for the hf backends; the startup (imports, model loading, data) is
   measured by the same command with N = 1 and max_gen_toks = 1 and subtracted; then the
   ratio hf-repeats / hf;
2. that the samples of every problem are distinct, for each backend: a failure is two
   identical responses of at least ``MIN_DUP_CHARS`` characters to one problem (a random
   model ends some responses at once with a stop sequence, so short responses may repeat
   by chance; their count is printed);
3. that gold log-likelihoods agree within a relative tolerance of 1e-3 (``collect``'s
   default ``--gold-rtol``), problem by problem: ``hf`` float32 on the GPU against ``hf``
   float32 on the CPU, and ``hf`` against ``vllm`` (float32) where vLLM is installed.
   (``hf-repeats`` serves log-likelihoods with the ``hf`` code, so it is not compared.)
   These legs run first (they are short).

Prints versions and the device first, one line per measurement as it is made, and last
``GPU CHECK: PASS`` or ``GPU CHECK: FAIL (...)``; exits 1 on failure.  A leg that fails or
outlives its time is reported and the check goes on with the next one.  Default task:
``arith`` (synthetic, no data needed); ``--task gsm8k`` uses ``LM_EVAL_SCALING_GSM8K_DIR``.
About 3-4 minutes on one H100 with the defaults (without vLLM).  ``--device cpu`` runs the
same code paths on the CPU (a dry run of the check with small settings; its rates say
nothing about a GPU).

    python benchmarks/gpu_check.py [--samples 64] [--problems 16] [--max-gen-toks 128]
    python benchmarks/gpu_check.py --device cpu --samples 8 --problems 2 --max-gen-toks 64
    python benchmarks/gpu_check.py --no-gold --profile 5   # where each leg's time goes

``--profile N`` runs lm_eval's ``evaluate()`` of each sampling leg under cProfile and prints
the calls below it and below ``generate_until`` (N levels); the rates then include the
profiler's overhead.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout, the package not installed
    sys.path.insert(0, str(REPO))
#: generation time below this fraction of the startup time is within its noise: no rate
NOISE_FLOOR = 0.25
#: identical responses at least this long are not chance for a random model: a seeding bug
MIN_DUP_CHARS = 10
#: Hub look-ups are never needed (local model, synthetic data) and must not wait on a network
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

WARM_UP = ("import torch, transformers, datasets, lm_eval.evaluator, lm_eval.models.huggingface, "
           "lm_eval_scaling.models; torch.cuda.is_available() and torch.zeros(1, device='cuda')")


class LegFailed(Exception):
    """One ``lm_eval_scaling run`` process failed or timed out."""


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _gold_rtol() -> float:
    """``collect``'s default tolerance for two runs' gold log-probabilities."""
    from lm_eval_scaling.collect import collect_tables

    return float(inspect.signature(collect_tables).parameters["gold_rtol"].default)


def _build_model(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("_conftest", REPO / "tests" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_model(out, hidden_size=768, num_layers=14, num_heads=12)


def _env() -> dict[str, str]:
    """The environment of a leg: the repository first on PYTHONPATH, then whatever it
    holds already (e.g. carried wheels)."""
    return OFFLINE | os.environ | {"PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}


class _Runner:
    """Runs one leg after the other within an overall time budget."""

    def __init__(self, budget_s: float, leg_cap_s: float, profile: int = 0) -> None:
        self.deadline = time.monotonic() + budget_s
        self.leg_cap_s = leg_cap_s
        #: print this many functions of each leg's cProfile (0: legs run unprofiled)
        self.profile = profile

    def run(self, model: str, model_args: str, task: str, out: Path, metadata: dict[str, int],
            problems: int, batch_size: str, device: str | None, profile: bool = False) -> float:
        """Wall seconds of one CLI run; :class:`LegFailed` if it fails or runs out of time.
        ``profile`` (with ``--profile N``): run it under cProfile and print its N functions
        of most own time."""
        left = min(self.leg_cap_s, self.deadline - time.monotonic())
        if left < 5:
            raise LegFailed(f"{model} on {task}: not started, the check's time budget is spent")
        stats = out.with_suffix(".prof")
        prof = bool(profile and self.profile)
        env = _env()
        if prof:  # profile lm_eval's evaluate() only (cProfile of the whole CLI dies on 3.12)
            hook = out.parent / f"{out.name}-hook"
            hook.mkdir(parents=True, exist_ok=True)
            (hook / "sitecustomize.py").write_text(_PROFILE_HOOK.format(stats=str(stats)))
            env["PYTHONPATH"] = os.pathsep.join([str(hook), env["PYTHONPATH"]])
        cmd = [sys.executable, "-m", "lm_eval_scaling", "-q", "run", "--model", model,
               "--model_args", model_args, "--tasks", task, "--limit", str(problems),
               "--batch_size", batch_size, "--seed", "1", "--log_samples",
               "--output_path", str(out), "--metadata", json.dumps(metadata)]
        if device is not None:
            cmd += ["--device", device]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False,
                                  timeout=left)
        except subprocess.TimeoutExpired as exc:
            err = exc.stderr or ""
            tail = (err.decode(errors="replace") if isinstance(err, bytes) else err)[-3000:]
            _say(tail)
            raise LegFailed(f"{model} on {task} (device {device}): no result after "
                            f"{left:.0f} s") from exc
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            _say(proc.stderr[-4000:])
            raise LegFailed(f"{model} on {task} (device {device}) exited {proc.returncode} "
                            f"after {seconds:.0f} s")
        if prof:
            import io
            import pstats

            ps = pstats.Stats(str(stats), stream=io.StringIO())
            _say(f"cProfile of {model} on {task}: lm_eval's evaluate() and generate_until, and "
                 f"what they call (cumulative seconds, depth 2 and {self.profile}):")
            _say(_call_tree(ps, "evaluate", 2))
            _say(_call_tree(ps, "generate_until", self.profile))
        return seconds


_PROFILE_HOOK = """
import cProfile
import lm_eval.evaluator as _ev

_evaluate = _ev.evaluate


def _profiled(*args, **kwargs):
    prof = cProfile.Profile()
    prof.enable()
    try:
        return _evaluate(*args, **kwargs)
    finally:
        prof.disable()
        prof.dump_stats({stats!r})


_ev.evaluate = _profiled
"""


def _call_tree(ps: Any, root: str, depth: int, share: float = 0.03) -> str:
    """The functions below ``root`` (by name) in a cProfile, ``depth`` levels, each with its
    cumulative time within the caller; those under ``share`` of the root's time left out."""
    ps.calc_callees()
    roots = [key for key in ps.stats if key[2] == root]
    if not roots:
        return f"  ({root} not in the profile)"
    top = max(roots, key=lambda key: ps.stats[key][3])
    total = ps.stats[top][3]
    lines = [f"  {total:8.2f} s  {Path(top[0]).name}:{top[1]}({top[2]})"]

    def walk(key: Any, level: int) -> None:
        if level > depth:
            return
        callees = ps.all_callees.get(key, {})
        ranked = sorted(callees.items(), key=lambda kv: -kv[1][3])
        for callee, (_, calls, _, cum) in ranked:
            if cum < share * total:
                break
            lines.append(f"  {cum:8.2f} s  {'  ' * level}{Path(callee[0]).name}:{callee[1]}"
                         f"({callee[2]}) x{calls}")
            walk(callee, level + 1)

    walk(top, 1)
    return "\n".join(lines)


def _samples(out: Path, task: str) -> list[dict]:
    (path,) = out.rglob(f"samples_{task}_*.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _responses(row: dict) -> list[str]:
    """The N responses of one logged problem (``resps``: one list per request)."""
    return [text for resp in row["resps"] for text in (resp if isinstance(resp, list) else [resp])]


def _distinctness(rows: list[dict], samples: int) -> tuple[str, str | None]:
    """(line to print, failure or None) for the responses of every problem."""
    fewest, long_dups, short_dups, counts = samples, 0, 0, set()
    for row in rows:
        texts = _responses(row)
        counts.add(len(texts))
        fewest = min(fewest, len(set(texts)))
        seen: set[str] = set()
        for text in texts:
            if text in seen:
                if len(text) >= MIN_DUP_CHARS:
                    long_dups += 1
                else:
                    short_dups += 1
            seen.add(text)
    line = (f"fewest distinct responses of a problem {fewest}/{samples}; repeated responses "
            f">= {MIN_DUP_CHARS} chars: {long_dups}, shorter (chance with a random model): "
            f"{short_dups}")
    if counts != {samples}:
        return line, f"{sorted(counts)} responses per problem, expected {samples}"
    if long_dups:
        return line, f"{long_dups} repeated responses of >= {MIN_DUP_CHARS} characters"
    return line, None


def _compare_gold(name: str, a: dict[int, float], b: dict[int, float]) -> str | None:
    rtol = _gold_rtol()
    if set(a) != set(b) or not a:
        _say(f"gold log-likelihood, {name}: problems differ ({len(a)} vs {len(b)})")
        return f"gold log-likelihood {name}: different problems"
    worst = max(abs(a[d] - b[d]) / max(abs(a[d]), 1e-9) for d in a)
    _say(f"gold log-likelihood, {name}, {len(a)} problems: largest relative difference "
         f"{worst:.2e} (tolerance {rtol:g}); e.g. problem {min(a)}: {a[min(a)]:.6f} vs "
         f"{b[min(a)]:.6f}")
    if not math.isfinite(worst) or worst > rtol:
        return f"gold log-likelihoods {name} differ by {worst:.2e} > {rtol:g}"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=64, help="N samples per problem")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--max-gen-toks", type=int, default=128)
    ap.add_argument("--task", choices=("arith", "gsm8k"), default="arith")
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                    help="cpu: a dry run of the same code paths without a GPU")
    ap.add_argument("--budget", type=float, default=330.0,
                    help="seconds for all legs together (default 330); legs that would "
                         "start later are reported as failed")
    ap.add_argument("--no-gold", action="store_true",
                    help="skip the gold log-likelihood legs (speed and distinctness only)")
    ap.add_argument("--leg-timeout", type=float, default=150.0,
                    help="seconds one leg may run (default 150)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="run each sampling leg under cProfile and print its generation path "
                         "(N functions, and what they call; the rates then include the "
                         "profiler's overhead)")
    args = ap.parse_args()
    started = time.monotonic()
    failures: list[str] = []
    try:
        _check(args, failures)
    except Exception as exc:  # noqa: BLE001 (what was measured is printed; the crash is a FAIL)
        traceback.print_exc(file=sys.stdout)
        failures.append(f"the check crashed: {exc!r}")
    _say(f"check took {time.monotonic() - started:.0f} s")
    _say("GPU CHECK: " + ("PASS" if not failures else "FAIL (" + "; ".join(failures) + ")"))
    raise SystemExit(1 if failures else 0)


def _check(args: argparse.Namespace, failures: list[str]) -> None:
    import torch

    have_vllm = importlib.util.find_spec("vllm") is not None
    cuda = torch.cuda.is_available()
    _say(f"python {sys.version.split()[0]}; torch {torch.__version__} (CUDA "
         f"{torch.version.cuda}); transformers {_version('transformers')}; tokenizers "
         f"{_version('tokenizers')}; lm_eval {_version('lm_eval')}; datasets "
         f"{_version('datasets')}; vllm {_version('vllm') if have_vllm else 'not installed'}")
    _say("also: " + ", ".join(f"{name} {_version(name)}" for name in (
        "huggingface_hub", "accelerate", "numpy", "pandas", "pyarrow", "fsspec", "evaluate")))
    _say(f"GPU: {torch.cuda.get_device_name() if cuda else 'none'}; legs run on {args.device}")
    if args.device == "cuda" and not cuda:
        failures.append("no CUDA GPU visible to torch")
        return
    device = args.device
    passk, gold = f"{args.task}_passk", f"{args.task}_gold_loglik"
    runner = _Runner(args.budget, args.leg_timeout, args.profile)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = _build_model(Path(tmp) / "neox100m")
        from transformers import AutoModelForCausalLM

        params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
        _say(f"model: random GPT-NeoX, {params / 1e6:.0f}M parameters, float32; {passk}: "
             f"{args.problems} problems x N = {args.samples}, max_gen_toks {args.max_gen_toks}; "
             f"startup = the same command with N = 1, max_gen_toks = 1")
        hf_args = f"pretrained={model_dir},dtype=float32"
        vllm_args = f"pretrained={model_dir},dtype=float32,seed=1,gpu_memory_utilization=0.5"
        backends = {"hf": hf_args, "hf-repeats": hf_args, "vllm": vllm_args,
                    "vllm-repeats": vllm_args}
        # on a dry run (--device cpu) the second leg is hf-repeats, which serves
        # log-likelihoods with hf's own code: that exercises the comparison, nothing more
        second = ("hf on cpu", "hf") if device == "cuda" else ("hf-repeats on cpu", "hf-repeats")
        gold_legs = {f"hf on {device}": ("hf", hf_args, device),
                     second[0]: (second[1], hf_args, "cpu"),
                     "vllm": ("vllm", vllm_args, None)}
        logprobs: dict[str, dict[int, float]] = {}
        for label, (name, model_args, leg_device) in gold_legs.items():
            if args.no_gold:
                _say("gold log-likelihood legs: SKIPPED (--no-gold)")
                break
            if name == "vllm" and not have_vllm:
                _say("gold log-likelihood, hf vs vllm: SKIPPED (vllm not installed)")
                continue
            out = Path(tmp) / f"gold-{label.replace(' ', '-')}"
            try:
                seconds = runner.run(name, model_args, gold, out, {}, args.problems,
                                     "auto" if name == "vllm" else "8", leg_device)
                logprobs[label] = {r["doc_id"]: r["gold_logprob"] for r in _samples(out, gold)}
            except (LegFailed, ValueError, KeyError, OSError) as exc:
                _say(f"gold log-likelihood, {label}: FAILED ({exc})")
                failures.append(f"gold {label}: {exc}")
                continue
            _say(f"gold log-likelihood, {label} (float32): {len(logprobs[label])} problems in "
                 f"{seconds:.1f} s")
        ref = f"hf on {device}"
        for label, values in logprobs.items():
            if label != ref and ref in logprobs:
                failure = _compare_gold(f"{ref} vs {label}", logprobs[ref], values)
                if failure:
                    failures.append(failure)
        if device == "cpu":
            _say("gold log-likelihood, GPU vs CPU: not compared (dry run on the CPU; "
                 "hf vs hf-repeats runs the same hf code twice)")

        full = {"n_samples": args.samples, "max_gen_toks": args.max_gen_toks}
        startup_meta = {"n_samples": 1, "max_gen_toks": 1}
        rates: dict[str, float] = {}
        # whatever is left of a cold disk cache for the imports is paid here, outside the
        # measured legs
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WARM_UP], env=_env(), check=False)
        _say(f"warm-up (imports{', CUDA context' if device == 'cuda' else ''}): "
             f"{time.perf_counter() - t0:.1f} s")
        for name, model_args in backends.items():
            vllm_leg = name.startswith("vllm")
            if vllm_leg and not have_vllm:
                _say(f"{name:>13}: SKIPPED (vllm not installed)")
                continue
            batch = "auto" if vllm_leg else str(args.samples)
            leg_device = None if vllm_leg else device
            out = Path(tmp) / name
            try:
                startup = runner.run(name, model_args, passk, Path(tmp) / f"{name}-startup",
                                     startup_meta, args.problems, batch, leg_device)
                total = runner.run(name, model_args, passk, out, full, args.problems, batch,
                                   leg_device, profile=True)
            except LegFailed as exc:
                _say(f"{name:>13}: FAILED ({exc})")
                failures.append(str(exc))
                continue
            gen = total - startup
            if gen < NOISE_FLOOR * startup:
                rates[name] = math.nan
                failures.append(f"{name}: generation time {gen:.1f} s is within the startup's "
                                "noise (raise --samples or --max-gen-toks)")
            else:
                rates[name] = args.samples * args.problems / gen
            _say(f"{name:>13}: run {total:6.1f} s, startup {startup:5.1f} s, generation "
                 f"{gen:6.1f} s: {rates[name]:8.1f} samples/s")
            try:
                line, failure = _distinctness(_samples(out, passk), args.samples)
            except (ValueError, KeyError, OSError) as exc:
                line, failure = f"samples unreadable: {exc!r}", f"{name}: samples unreadable"
            _say(f"{name:>13}: {line}")
            if failure:
                failures.append(f"{name}: {failure}")
        for num, den in (("hf-repeats", "hf"), ("vllm-repeats", "vllm")):
            if num in rates and den in rates:
                _say(f"speed-up {num} / {den}: {rates[num] / rates[den]:.2f}x samples/s "
                     f"({rates[num]:.1f} / {rates[den]:.1f}; {device if den == 'hf' else 'vllm'})")


if __name__ == "__main__":
    main()
