"""hf-repeats (lm_eval_scaling.models.hf_repeats) against stock lm_eval ``hf``, on the tiny
random GPT-NeoX of the test suite (CPU)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
registry = pytest.importorskip("lm_eval.api.registry")
from lm_eval.api.instance import Instance

import lm_eval_scaling.models  # noqa: F401  (registers hf-repeats)
from lm_eval_scaling.models.hf_repeats import build_warpers

CONTEXT = "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\nAnswer:"
OTHER = "Question: 5 times 6?\nAnswer:"


@pytest.fixture(scope="module")
def passk_gen_kwargs() -> dict[str, Any]:
    """The generation kwargs of the real ``arith_passk`` task."""
    from lm_eval.tasks import TaskManager

    from lm_eval_scaling.harness import tasks_dir

    tm = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    task = tm.load(["arith_passk"])["tasks"]["arith_passk"]
    return dict(task.config.generation_kwargs)


def _lm(name: str, model_dir: Path, **kwargs: Any) -> Any:
    args = {"pretrained": str(model_dir), "device": "cpu", "dtype": "float32",
            "batch_size": 16} | kwargs
    return registry.get_model(name)(**args)


def _requests(*pairs: tuple[str, dict[str, Any], int]) -> list[Any]:
    out = []
    for context, gen, n in pairs:
        inst = Instance("generate_until", {}, (context, gen), 0)
        out.extend([inst] * n)  # lm_eval clones a repeated request the same way
    return out


def test_greedy_responses_equal_stock_hf(tiny_model_dir: Path) -> None:
    gen = {"until": ["\n\n", "Question:"], "do_sample": False, "max_gen_toks": 24}
    reqs = _requests((CONTEXT, gen, 3), (OTHER, gen, 2), (CONTEXT, gen | {"max_gen_toks": 5}, 1))
    stock = _lm("hf", tiny_model_dir).generate_until(reqs)
    ours = _lm("hf-repeats", tiny_model_dir).generate_until(reqs)
    assert ours == stock
    assert ours[0] != ours[3]  # the problems differ; the test is not vacuous


def test_samples_depend_on_seed_not_on_sub_batch(tiny_model_dir: Path,
                                                 passk_gen_kwargs: dict[str, Any]) -> None:
    gen = passk_gen_kwargs | {"max_gen_toks": 12}
    reqs = _requests((CONTEXT, gen, 10), (OTHER, gen, 6))
    torch.manual_seed(5)
    whole = _lm("hf-repeats", tiny_model_dir, batch_size=16).generate_until(reqs)
    torch.manual_seed(5)
    pieces = _lm("hf-repeats", tiny_model_dir, batch_size=3).generate_until(reqs)
    assert whole == pieces
    assert len(set(whole[:10])) == 10  # N distinct samples of one problem
    torch.manual_seed(6)  # another chunk (--seed)
    other_chunk = _lm("hf-repeats", tiny_model_dir).generate_until(reqs)
    torch.manual_seed(5)
    other_model_seed = _lm("hf-repeats", tiny_model_dir, seed=1).generate_until(reqs)
    assert not set(other_chunk) & set(whole)
    assert not set(other_model_seed) & set(whole)


def _exact_first_response_probs(lm: Any, context: str, until: list[str]) -> Counter[str]:
    """P(response) for max_gen_toks = 1, from one plain forward pass (the oracle)."""
    from lm_eval.models.utils import postprocess_generated_text

    ids = lm.tok_batch_encode([context])[0]
    with torch.no_grad():
        logits = lm.model(input_ids=ids).logits[0, -1].double()
    probs = torch.softmax(logits, dim=-1).tolist()
    eos = lm.tok_decode(lm.eot_token_id, skip_special_tokens=False)
    out: Counter[str] = Counter()
    for token, p in enumerate(probs):
        text = postprocess_generated_text(lm.tok_decode([token]), [*until, eos], None)
        out[text] += p
    return out


def _chi2_pvalue(observed: Counter[str], expected_probs: Counter[str], n: int) -> float:
    """Goodness of fit, responses merged (by probability) into bins of expected count >= 10."""
    from scipy.stats import chisquare

    bins_obs, bins_exp = [], []
    acc_o = acc_e = 0.0
    for text, p in sorted(expected_probs.items(), key=lambda kv: kv[1]):
        acc_o += observed.get(text, 0)
        acc_e += p * n
        if acc_e >= 10:
            bins_obs.append(acc_o)
            bins_exp.append(acc_e)
            acc_o = acc_e = 0.0
    bins_obs[-1] += acc_o
    bins_exp[-1] += acc_e
    assert sum(bins_obs) == n  # every response is one the oracle knows
    return float(chisquare(bins_obs, bins_exp).pvalue)


@pytest.mark.parametrize("backend", ["hf", "hf-repeats"])
def test_task_samples_the_full_distribution(tiny_model_dir: Path,
                                            passk_gen_kwargs: dict[str, Any],
                                            backend: str) -> None:
    """With the task's generation kwargs, the first token is drawn from softmax(logits):
    no top-k (transformers' default generation config has top_k = 50), no top-p."""
    gen = passk_gen_kwargs | {"max_gen_toks": 1}
    n = 3000
    lm = _lm(backend, tiny_model_dir, batch_size=500)
    torch.manual_seed(11)
    responses = lm.generate_until(_requests((CONTEXT, gen, n)))
    expected = _exact_first_response_probs(lm, CONTEXT, gen["until"])
    assert _chi2_pvalue(Counter(responses), expected, n) > 1e-3


def _active_processors(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    from transformers.generation.utils import GenerationMixin

    seen: list[list[str]] = []
    original = GenerationMixin._get_logits_processor

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        processors = original(self, *args, **kwargs)
        seen.append([type(p).__name__ for p in processors])
        return processors

    monkeypatch.setattr(GenerationMixin, "_get_logits_processor", spy)
    return seen


def test_logits_processors_active(tiny_model_dir: Path, passk_gen_kwargs: dict[str, Any],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _active_processors(monkeypatch)
    gen = passk_gen_kwargs | {"max_gen_toks": 2}
    stock = _lm("hf", tiny_model_dir)
    stock.generate_until(_requests((CONTEXT, gen, 2)))
    assert seen == [[]]  # stock hf with the task's settings: no processor at all
    # the spy sees transformers' defaults when the task does not override them
    bare = {k: v for k, v in gen.items() if k not in ("top_k", "top_p", "repetition_penalty")}
    stock.generate_until(_requests((CONTEXT, bare, 2)))
    assert seen[1] == ["TopKLogitsWarper"]
    # hf-repeats never calls generate(); its own warpers for the task's settings: none
    seen.clear()
    _lm("hf-repeats", tiny_model_dir).generate_until(_requests((CONTEXT, gen, 2)))
    assert seen == [] and build_warpers({k: v for k, v in gen.items()
                                         if k in ("temperature", "top_k", "top_p",
                                                  "repetition_penalty")}) == []
    names = [type(w).__name__ for w in build_warpers({"temperature": 0.7, "top_k": 5,
                                                      "top_p": 0.9})]
    assert names == ["TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper"]


def test_unknown_sampling_kwargs_go_to_the_parent(tiny_model_dir: Path,
                                                  passk_gen_kwargs: dict[str, Any]) -> None:
    gen = passk_gen_kwargs | {"max_gen_toks": 3, "repetition_penalty": 1.3}
    lm = _lm("hf-repeats", tiny_model_dir)
    out = lm.generate_until(_requests((CONTEXT, gen, 4)))
    assert len(out) == 4 and lm.sample_counts == {"stored": 0, "generated": 0}


# -- through the real command line (slow) ---------------------------------------------------

N_SAMPLES = 32
LIMIT = 4


def _cli(model: str, model_dir: Path, out: Path, *extra: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "lm_eval_scaling", "-v", "run", "--model", model,
            "--model_args", f"pretrained={model_dir},dtype=float32", "--device", "cpu",
            "--batch_size", "2", "--tasks", "arith_passk", "--limit", str(LIMIT),
            "--metadata", f'{{"n_samples": {N_SAMPLES}, "max_gen_toks": 64}}',
            "--seed", "3", "--log_samples", "--output_path", str(out), *extra]


def _env() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[2])
    return os.environ | {"PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]), "OMP_NUM_THREADS": "1"}


def _run(cmd: list[str]) -> str:
    import subprocess

    proc = subprocess.run(cmd, check=False, env=_env(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def _responses(out: Path) -> dict[int, list[str]]:
    import json

    (path,) = out.rglob("samples_arith_passk_*.jsonl")
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    # lm_eval logs the N responses of a repeated request as resps = [[r_1, ..., r_N]]
    return {row["doc_id"]: [text for resp in row["resps"] for text in resp] for row in rows}


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    _run(_cli("hf-repeats", tiny_model_dir, out))
    return out


def _stored_samples(db_path: Path) -> int:
    import sqlite3

    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as conn:
            (count,) = conn.execute("SELECT count(*) FROM unnamed WHERE key LIKE "
                                    "'lm_eval_scaling.sample:%'").fetchone()
    except sqlite3.OperationalError:  # table not created yet, or locked
        return 0
    return int(count)


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted(tiny_model_dir: Path, tmp_path: Path,
                                                   uninterrupted: Path) -> None:
    import re
    import signal
    import subprocess
    import time

    from lm_eval_scaling.collect import collect_tables

    cache, out = tmp_path / "cache", tmp_path / "resumed"
    cmd = _cli("hf-repeats", tiny_model_dir, out, "--use_cache", str(cache))
    total = N_SAMPLES * LIMIT
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    db = Path(f"{cache}_rank0.db")
    try:
        deadline = time.monotonic() + 600
        while _stored_samples(db) < total // 8 and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_with = _stored_samples(db)
    assert total // 8 <= killed_with < total
    assert not list(out.rglob("samples_*.jsonl"))  # lm_eval wrote nothing

    log = _run(cmd)  # the same command again
    match = re.search(r"hf-repeats: (\d+) samples from the cache, (\d+) generated", log)
    assert match, log[-2000:]
    reused, generated = int(match.group(1)), int(match.group(2))
    assert reused >= killed_with and reused + generated == total

    resumed = _responses(out)
    assert sorted(resumed) == list(range(LIMIT))
    assert all(len(v) == N_SAMPLES for v in resumed.values())
    assert resumed == _responses(uninterrupted)
    counts = [collect_tables([d]).counts.sort_values("problem_id").reset_index(drop=True)
              for d in (out, uninterrupted)]
    assert (counts[0]["num_samples"] == N_SAMPLES).all()  # nothing counted twice
    assert counts[0][["problem_id", "num_samples", "num_correct"]].equals(
        counts[1][["problem_id", "num_samples", "num_correct"]])


@pytest.mark.slow
def test_cli_output_matches_stock_hf(tiny_model_dir: Path, tmp_path: Path,
                                     uninterrupted: Path) -> None:
    """Same samples-file structure as stock ``hf`` (collect reads both the same way), and
    per-problem counts of a scoring event equal in distribution."""
    import json

    from scipy.stats import fisher_exact

    from lm_eval_scaling.collect import collect_tables

    stock_out = tmp_path / "stock"
    _run(_cli("hf", tiny_model_dir, stock_out))
    (ours_path,) = uninterrupted.rglob("samples_arith_passk_*.jsonl")
    (stock_path,) = stock_out.rglob("samples_arith_passk_*.jsonl")
    ours_rows = [json.loads(x) for x in ours_path.read_text(encoding="utf-8").splitlines()]
    stock_rows = [json.loads(x) for x in stock_path.read_text(encoding="utf-8").splitlines()]
    assert [sorted(r) for r in ours_rows] == [sorted(r) for r in stock_rows]
    assert [r["doc_id"] for r in ours_rows] == [r["doc_id"] for r in stock_rows]
    assert [r["arguments"] for r in ours_rows] == [r["arguments"] for r in stock_rows]
    for name in ("counts",):
        ours = getattr(collect_tables([uninterrupted]), name)
        stock = getattr(collect_tables([stock_out]), name)
        assert list(ours.columns) == list(stock.columns)
        assert sorted(ours["problem_id"]) == sorted(stock["problem_id"])
        assert (ours["num_samples"] == N_SAMPLES).all() and (stock["num_samples"] == N_SAMPLES).all()

    # a scoring event that a random model hits often: a response of even length
    ours_resp, stock_resp = _responses(uninterrupted), _responses(stock_out)
    for doc in ours_resp:
        a = sum(len(r) % 2 == 0 for r in ours_resp[doc])
        b = sum(len(r) % 2 == 0 for r in stock_resp[doc])
        table = [[a, N_SAMPLES - a], [b, N_SAMPLES - b]]
        assert fisher_exact(table).pvalue > 1e-3, (doc, table)


def test_one_stop_check_per_step_gives_lm_evals_texts(tiny_model_dir: Path) -> None:
    """_StopCheck (one decode per step for all stop strings) against lm_eval's criteria
    (one per stop string): the same post-processed text for random token streams."""
    from lm_eval.models.utils import postprocess_generated_text
    from lm_eval.models.utils_hf import stop_sequences_criteria
    from transformers import AutoTokenizer

    from lm_eval_scaling.models.hf_repeats import _StopCheck

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    until = ["\n\n", "Question:", "=", "</s>"]
    # streams rich in the stop strings' pieces, so that stops occur at every offset
    pieces = [t for s in ("\n\n", "Question:", "=", " 12 + 3 ", "answer", "\n", "Q")
              for t in tok.encode(s, add_special_tokens=False)]
    rng = np.random.default_rng(0)
    rows, steps = 64, 40
    streams = [[int(rng.choice(pieces)) if rng.random() < 0.7 else int(rng.integers(len(tok)))
                for _ in range(steps)] for _ in range(rows)]
    prompt = [1, 2, 3]
    criteria = stop_sequences_criteria(tok, until, len(prompt), rows)
    check = _StopCheck(tok, until)
    ends_lm = [steps] * rows
    ends_ours = [steps] * rows
    for step in range(steps):
        seq = torch.tensor([prompt + s[:step + 1] for s in streams])
        for crit in criteria:
            crit(seq, None)
        open_rows = [r for r in range(rows) if ends_ours[r] == steps]
        for r, hit in zip(open_rows, check([streams[r][:step + 1] for r in open_rows]), strict=True):
            if hit:
                ends_ours[r] = step + 1
        for r in range(rows):
            if ends_lm[r] == steps and any(c.done_tracker[r] for c in criteria):
                ends_lm[r] = step + 1
    stopped = sum(e < steps for e in ends_lm)
    assert stopped > rows // 2  # the streams do hit the stop strings
    # never a step later than lm_eval (no decoding wasted), and the same texts
    assert all(ours <= lm for ours, lm in zip(ends_ours, ends_lm, strict=True))
    for r in range(rows):
        lm = postprocess_generated_text(tok.decode(streams[r][:ends_lm[r]]), until, None)
        ours = postprocess_generated_text(tok.decode(streams[r][:ends_ours[r]]), until, None)
        assert ours == lm, r
