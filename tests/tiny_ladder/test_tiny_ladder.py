"""Tests of the tiny-ladder build (examples/tiny_ladder) and of its committed tables."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
LADDER_DIR = ROOT / "lm_eval_scaling" / "data" / "tiny_ladder"  # the committed tables


def _load(name: str):
    """examples/tiny_ladder/<name>.py (a namespace package under the repo root)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"examples.tiny_ladder.{name}")


T = _load("_train")


# --------------------------------------------------------------------------- packing


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 30), min_size=1, max_size=60),
       seq_len=st.integers(31, 80), seed=st.integers(0, 10))
def test_pack_keeps_every_document_whole_once(lengths: list[int], seq_len: int, seed: int) -> None:
    eos = 0
    docs = [[i + 1] * n for i, n in enumerate(lengths)]  # token value = document id
    ids, labels = T.pack_documents(docs, eos, seq_len, seed)
    assert ids.shape[1] == seq_len and labels.shape == ids.shape
    found: list[int] = []
    for row_ids, row_lab in zip(ids, labels):
        real = row_lab != -100
        n_real = int(real.sum())
        assert real[:n_real].all()  # padding only at the end
        assert (row_ids[n_real:] == eos).all()
        np.testing.assert_array_equal(row_ids[:n_real], row_lab[:n_real])
        assert row_ids[0] != eos  # a row starts at a document start
        # split the row at EOS: each piece is one whole document
        pieces = np.split(row_ids[:n_real], np.flatnonzero(row_ids[:n_real] == eos) + 1)
        for piece in pieces:
            if piece.size == 0:
                continue
            assert piece[-1] == eos
            body = piece[:-1]
            doc_id = int(body[0])
            assert (body == doc_id).all() and body.size == lengths[doc_id - 1]
            found.append(doc_id)
    assert sorted(found) == list(range(1, len(lengths) + 1))


def test_pack_rejects_too_long_document() -> None:
    with pytest.raises(ValueError, match="seq_len"):
        T.pack_documents([[1] * 10], 0, 10, 0)


# --------------------------------------------------------------------------- schedule


def _plan(**kw):
    base = {"size": T.ModelSize("m", 16, 1, 2), "checkpoint_steps": (10, 40, 100),
            "batch_rows": 2, "seq_len": 16, "lr": 1e-2, "warmup_steps": 5, "cooldown_frac": 0.2}
    base.update(kw)
    return T.RunPlan(**base)


def test_lr_schedule_warmup_stable_decay() -> None:
    plan = _plan()
    assert T.branch_points(plan) == [8, 32, 80]
    assert [T.lr_at(plan, s) for s in range(5)] == pytest.approx([2e-3, 4e-3, 6e-3, 8e-3, 1e-2])
    assert T.lr_at(plan, 50) == pytest.approx(1e-2)
    # the branch of the 100-step checkpoint: continuous at the fork, linear to 0 at the end
    lrs = [T.lr_at(plan, s, branch=80, end=100) for s in range(80, 100)]
    assert lrs[0] == pytest.approx(1e-2)
    assert np.allclose(np.diff(lrs), -1e-2 / 20)
    assert T.lr_at(plan, 100, branch=80, end=100) == 0.0
    assert T.lr_at(plan, 79, branch=80, end=100) == T.lr_at(plan, 79)


def test_log_spaced_steps() -> None:
    steps = T.log_spaced_steps(10, 1000, 3)
    assert steps == (10, 100, 1000)
    with pytest.raises(ValueError):
        T.log_spaced_steps(1, 2, 5)


# --------------------------------------------------------------------------- tokenizer + model


@pytest.fixture(scope="module")
def tokenizer():
    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.prompt import training_text

    texts = [training_text(p["question"], p["answer"]) for p in
             arith.generate("train", 300, 0, mix="v2")]
    return T.train_tokenizer(texts, 384)


def test_tokenizer_roundtrip_digits_and_prompt_prefix(tokenizer) -> None:
    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.prompt import format_question, training_text

    for p in arith.generate("test", 20, 5, mix="v2"):
        text = training_text(p["question"], p["answer"])
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.decode(ids) == text
        # lm_eval splits (context, continuation) by encoding context + continuation whole:
        # the context's tokens must be a prefix of the whole text's tokens
        ctx = tokenizer(format_question(p["question"]))["input_ids"]
        assert ids[: len(ctx)] == ctx
    pieces = tokenizer.convert_ids_to_tokens(tokenizer("He has 123 + 45 = 168")["input_ids"])
    digits = [t.lstrip("Ġ") for t in pieces if t.lstrip("Ġ").isdigit()]
    assert digits == list("12345168")


@pytest.mark.parametrize(("hidden", "layers", "heads"), [(16, 1, 2), (32, 2, 4), (48, 3, 3)])
def test_non_embedding_parameters_closed_form(hidden: int, layers: int, heads: int) -> None:
    size = T.ModelSize("m", hidden, layers, heads)
    model = T.build_model(size, vocab_size=100, eos_id=0, seq_len=32, seed=0)
    d = hidden
    # per layer: qkv (3d^2 + 3d), out (d^2 + d), mlp (4d^2 + 4d + 4d^2 + d), 2 layer norms (4d)
    per_layer = 12 * d * d + 13 * d
    assert T.non_embedding_parameters(model) == layers * per_layer + 2 * d  # + final norm
    assert T.total_parameters(model) == T.non_embedding_parameters(model) + 2 * 100 * d


def test_train_run_saves_loadable_annealed_checkpoints(tokenizer, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.prompt import training_text

    torch.set_num_threads(1)
    texts = [training_text(p["question"], p["answer"]) for p in
             arith.generate("train", 400, 1, mix="v2")]
    docs = tokenizer(texts)["input_ids"]
    ids, labels = T.pack_documents(docs, tokenizer.eos_token_id, 128, 0)
    plan = _plan(checkpoint_steps=(6, 30), batch_rows=8, seq_len=128, lr=5e-3, warmup_steps=3)
    recs = T.train_run(plan, ids, labels, tokenizer, tmp_path, progress=False)
    assert [r.revision for r in recs] == ["step6", "step30"]
    assert recs[1].tokens == 5 * recs[0].tokens == 30 * 8 * 128
    assert 0 < recs[0].target_tokens < recs[1].target_tokens <= recs[1].tokens
    assert recs[1].final_loss < recs[0].final_loss
    # each checkpoint loads through the same route as `lm_eval --model hf`
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "step30"))
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "step30"))
    assert tok.eos_token_id == tokenizer.eos_token_id
    x = torch.from_numpy(ids[:4]).long()
    y = torch.from_numpy(labels[:4]).long()
    with torch.no_grad():
        loss_final = model(input_ids=x, labels=y).loss.item()
    model0 = T.build_model(plan.size, len(tokenizer), tokenizer.eos_token_id, 128, plan.seed)
    with torch.no_grad():
        loss_init = model0(input_ids=x, labels=y).loss.item()
    assert loss_final < loss_init - 1.0


def test_a_checkpoint_does_not_depend_on_the_other_budgets(tokenizer, tmp_path: Path) -> None:
    # each checkpoint is the main (warmup-stable) run up to its fork + its own cooldown: the
    # cooldown branches of the other budgets must leave the main run untouched (regression:
    # the branch optimizer once shared its Adam state tensors with the main run's)
    import torch
    from safetensors.torch import load_file

    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.prompt import training_text

    torch.set_num_threads(1)
    texts = [training_text(p["question"], p["answer"]) for p in
             arith.generate("train", 200, 2, mix="v2")]
    ids, labels = T.pack_documents(tokenizer(texts)["input_ids"], tokenizer.eos_token_id, 128, 0)
    kw = {"batch_rows": 4, "seq_len": 128, "lr": 5e-3, "warmup_steps": 2}
    T.train_run(_plan(checkpoint_steps=(5, 10, 20), **kw), ids, labels, tokenizer,
                tmp_path / "three", progress=False)
    T.train_run(_plan(checkpoint_steps=(20,), **kw), ids, labels, tokenizer, tmp_path / "one",
                progress=False)
    a = load_file(str(tmp_path / "three" / "step20" / "model.safetensors"))
    b = load_file(str(tmp_path / "one" / "step20" / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


# --------------------------------------------------------------------------- build plans


def test_full_plan_follows_the_issue() -> None:
    B = _load("build")
    preset = B.PRESETS["full"]
    plans = B.make_plans(preset, vocab=preset.vocab_size, efficiency=0.91)
    assert 4 <= len(plans) <= 5
    nonemb = []
    for plan in plans:
        model = T.build_model(plan.size, preset.vocab_size, 0, plan.seq_len, 0)
        n = T.non_embedding_parameters(model)
        nonemb.append(n)
        steps = plan.checkpoint_steps
        assert 4 <= len(steps) <= 6 and list(steps) == sorted(set(steps))
        ratios = np.diff(np.log(steps))
        assert np.allclose(ratios, ratios[0], atol=0.02)  # log-spaced
        # "keep most runs near or above 20 tokens per parameter": all of them here
        tpp = np.array(steps) * plan.tokens_per_step * 0.91 / n
        assert 18 <= tpp[0] <= 22 and 70 <= tpp[-1] <= 90
        assert plan.warmup_steps < T.branch_points(plan)[0]
    assert 20_000 <= nonemb[0] and nonemb[-1] <= 1_100_000
    assert nonemb == sorted(nonemb)


def _add_times(path: str, n: int) -> None:
    B = _load("build")
    for _ in range(n):
        B._add_time(Path(path), "train", 1.0)


def test_build_times_add_up_across_parallel_processes(tmp_path: Path) -> None:
    # `build.py --only ...` processes run in parallel on one work dir share build_times.json
    import multiprocessing as mp

    path = tmp_path / "build_times.json"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_add_times, args=(str(path), 150)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert json.loads(path.read_text()) == {"train": 450.0}


def test_long_plan_gives_every_size_the_same_log_spaced_token_budgets() -> None:
    B = _load("build")
    preset = B.PRESETS["long"]
    efficiency = 0.9032  # packing efficiency of the data both presets share
    plans = B.make_plans(preset, vocab=preset.vocab_size, efficiency=efficiency)
    assert len(plans) == len(preset.sizes) >= 3
    for plan in plans:
        tokens = np.array(plan.checkpoint_steps) * plan.tokens_per_step * efficiency
        np.testing.assert_allclose(tokens[[0, -1]], [preset.tokens_min, preset.tokens_max],
                                   rtol=2e-3)
        ratios = np.diff(np.log(tokens))
        assert np.allclose(ratios, ratios[0], atol=0.01)
        assert plan.warmup_steps < T.branch_points(plan)[0]
        # the packed set of train_problems (114,630 rows of 128) is never repeated
        assert plan.checkpoint_steps[-1] * plan.batch_rows <= 114_630
    assert preset.train_problems == B.PRESETS["narrow"].train_problems  # same data as 'narrow'


# --------------------------------------------------------------------------- committed tables


def _committed() -> bool:
    return all((LADDER_DIR / f).exists() for f in ("counts.csv", "ladder.csv", "gold.csv",
                                                     "metadata.json"))


@pytest.mark.skipif(not _committed(), reason="tiny ladder tables not built yet")
def test_committed_tables_validate_and_agree() -> None:
    from lm_eval_scaling.passk.benchmark import passk_table
    from lm_eval_scaling.tables.schema import read_counts, read_gold, read_ladder

    counts = read_counts(LADDER_DIR / "counts.csv")
    ladder = read_ladder(LADDER_DIR / "ladder.csv")
    gold = read_gold(LADDER_DIR / "gold.csv")
    meta = json.loads((LADDER_DIR / "metadata.json").read_text())
    ckpts = set(zip(ladder["model"], ladder["revision"]))
    assert set(zip(counts["model"], counts["revision"])) == ckpts
    assert set(zip(gold["model"], gold["revision"])) == ckpts
    assert len(ckpts) == len(meta["checkpoints"]) >= 16
    n = meta["settings"]["n_samples"]
    assert (counts["num_samples"] == n).all()
    per_ckpt = counts.groupby(["model", "revision"])["problem_id"].nunique()
    assert (per_ckpt == meta["settings"]["test_size"]).all()
    # compute spans orders of magnitude; not saturated at either end
    assert ladder["compute"].max() / ladder["compute"].min() > 100
    table = passk_table(counts, [1], ci=None)
    p1 = table.set_index(["model", "revision"])["pass_at_k"]
    assert 0 < p1.min() and p1.max() < 0.95
    # within each size the last (most trained) checkpoint beats the first
    lad = ladder.set_index(["model", "revision"])
    for model, grp in lad.groupby(level="model"):
        order = grp.sort_values("tokens").index
        assert p1[order[-1]] > p1[order[0]], model
    # the gold log-likelihood improves with compute overall
    mean_lp = gold.groupby(["model", "revision"])["gold_logprob"].mean()
    c = lad["compute"].reindex(mean_lp.index)
    assert np.corrcoef(np.log(c), mean_lp)[0, 1] > 0.8
    # built by the default preset, on the harness's default problems
    from lm_eval_scaling.harness import arith

    assert meta["preset"] == "full"
    assert meta["settings"]["arith_mix"] == arith.DEFAULT_MIX
    assert math.isclose(meta["settings"]["tokens_per_param_min"], 20.0)
    assert math.isclose(meta["settings"]["tokens_per_param_max"], 80.0)


SEED1_DIR = ROOT / "examples" / "tiny_ladder" / "experiments" / "full-seed1"


@pytest.mark.skipif(not _committed() or not SEED1_DIR.exists(), reason="tables not built")
def test_acceptance_pools_seed_replicates(tmp_path: Path) -> None:
    import shutil

    from lm_eval_scaling.passk.benchmark import passk_table

    A = _load("acceptance")
    counts, gold, _ = A.pool([LADDER_DIR, SEED1_DIR])
    c0, g0, _ = A.load(LADDER_DIR)
    c1, g1, _ = A.load(SEED1_DIR)
    assert len(counts) == len(c0) and (counts["num_samples"] == 2 * c0["num_samples"].iloc[0]).all()
    key = ["model", "revision"]
    p = [passk_table(c, [1], ci=None).set_index(key)["pass_at_k"] for c in (counts, c0, c1)]
    # equal samples per replicate: pooled pass@1 is the mean of the replicates' pass@1
    np.testing.assert_allclose(p[0], ((p[1] + p[2]) / 2).reindex(p[0].index), rtol=1e-12)
    lp = gold.set_index(key + ["problem_id"])["gold_logprob"]
    mean = (g0.set_index(key + ["problem_id"])["gold_logprob"]
            + g1.set_index(key + ["problem_id"])["gold_logprob"]) / 2
    np.testing.assert_allclose(lp, mean.reindex(lp.index))
    # replicates of different ladders are refused, naming the file
    other = tmp_path / "other"
    shutil.copytree(SEED1_DIR, other)
    lad = (other / "ladder.csv").read_text().splitlines()
    head, row = lad[0].split(","), lad[1].split(",")
    row[head.index("tokens")] = str(int(row[head.index("tokens")]) + 1)
    (other / "ladder.csv").write_text("\n".join([lad[0], ",".join(row), *lad[2:]]) + "\n")
    with pytest.raises(SystemExit, match="ladder.csv"):
        A.pool([LADDER_DIR, other])


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_toy_build_end_to_end_through_the_harness(tmp_path: Path) -> None:
    """Every stage at toy scale: data, training, `lm_eval run` per checkpoint, collect."""
    pytest.importorskip("lm_eval")
    B = _load("build")
    out = tmp_path / "tables"
    rc = B.main(["--preset", "toy", "--work-dir", str(tmp_path / "work"), "--out-dir", str(out),
                 "--workers", "1", "--threads", "1"])
    assert rc == 0
    from lm_eval_scaling.tables.schema import read_counts, read_gold, read_ladder

    counts = read_counts(out / "counts.csv")
    ladder = read_ladder(out / "ladder.csv")
    gold = read_gold(out / "gold.csv")
    preset = B.PRESETS["toy"]
    assert len(ladder) == len(preset.sizes) * preset.checkpoints
    assert len(counts) == len(ladder) * preset.test_size
    assert (counts["num_samples"] == preset.n_samples).all()
    assert len(gold) == len(ladder) * preset.test_size
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["preset"] == "toy" and {"data", "train", "eval"} <= set(meta["wall_s"])
    # a second run reuses everything and reproduces the tables exactly
    before = (out / "counts.csv").read_text()
    assert B.main(["--preset", "toy", "--work-dir", str(tmp_path / "work"), "--out-dir",
                   str(out), "--workers", "1", "--threads", "1"]) == 0
    assert (out / "counts.csv").read_text() == before
