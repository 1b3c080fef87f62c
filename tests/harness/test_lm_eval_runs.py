"""End to end through the real lm_eval CLI: task YAMLs -> samples files -> collect.

* A scripted model (registered as ``scaling_fake``) answers from the known gold answers
  with a recorded number of correct responses: collect's counts must equal that record
  exactly, chunks with different seeds must merge by summing, the same seed twice must
  be refused, a changed generation setting must be refused.
* The real ``hf`` backend on a tiny random GPT-NeoX (CPU): N distinct responses per
  problem, counts equal to re-scoring the logged responses, gold log-probabilities equal
  to an independent transformers forward pass.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lm_eval_scaling.collect import collect_tables
from lm_eval_scaling.collect.rescore import rescore_runs
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness import arith, tasks_dir
from lm_eval_scaling.harness.extractors import is_correct
from lm_eval_scaling.harness.gsm8k import gold_final_answer

pytestmark = pytest.mark.slow

lm_eval_model = pytest.importorskip("lm_eval.api.model")
registry = pytest.importorskip("lm_eval.api.registry")

_GOLD = {p["question"]: gold_final_answer(p["answer"])
         for p in arith.generate("test", arith.TEST_SIZE, arith.SEED)}
_QUESTION = re.compile(r"Question: (.*)\nAnswer:\Z", re.DOTALL)


class ScriptedLM(lm_eval_model.LM):  # type: ignore[misc,name-defined]
    """Answers arith questions correctly with probability 1/2 (python ``random``, seeded
    by lm_eval's --seed), in varied formats; records how many correct answers it gave."""

    correct_given: ClassVar[Counter[str]] = Counter()

    def __init__(self, pretrained: str = "scripted", revision: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__()

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        out = []
        for req in requests:
            context = req.args[0]
            question = _QUESTION.search(context).group(1)  # type: ignore[union-attr]
            gold = int(_GOLD[question])
            if random.random() < 0.5:
                self.correct_given[question] += 1
                fmt = random.choice([" He has 1 + 1 = 2.\n#### {}", " The answer is {}.",
                                     " 3 apples and 5 pears\n#### ${}.00"])
                out.append(fmt.format(gold))
            else:
                fmt = random.choice([" #### {}", " I give up", " {} is it\n#### 1000001"])
                out.append(fmt.format(gold + 1 if "I" not in fmt else gold))
        return out

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        return [(-len(req.args[1]) / 10.0, False) for req in requests]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError


if "scaling_fake" not in registry.model_registry:
    registry.register_model("scaling_fake")(ScriptedLM)


def _run_lm_eval_in_process(out: Path, *, seed: int, metadata: dict[str, Any],
                            limit: int = 6, include_path: Path | None = None,
                            tasks: str = "arith_scaling") -> None:
    from lm_eval._cli.harness import HarnessCLI

    argv = ["lm_eval", "run", "--model", "scaling_fake",
            "--model_args", "pretrained=scripted-model,revision=step7",
            "--include_path", str(include_path or tasks_dir()), "--tasks", tasks,
            "--limit", str(limit), "--seed", str(seed), "--metadata", json.dumps(metadata),
            "--log_samples", "--output_path", str(out)]
    old = sys.argv
    sys.argv = argv
    try:
        cli = HarnessCLI()
        cli.execute(cli.parse_args())
    finally:
        sys.argv = old


def test_scripted_model_counts_merge_and_refusals(tmp_path: Path) -> None:
    ScriptedLM.correct_given.clear()
    _run_lm_eval_in_process(tmp_path / "chunk1", seed=1, metadata={"n_samples": 16})
    _run_lm_eval_in_process(tmp_path / "chunk2", seed=2, metadata={"n_samples": 8})
    result = collect_tables([tmp_path / "chunk1", tmp_path / "chunk2"])
    counts = result.counts
    assert set(counts["model"]) == {"scripted-model"} and set(counts["revision"]) == {"step7"}
    assert list(counts["task"].unique()) == ["arith_passk"]
    assert (counts["num_samples"] == 24).all() and len(counts) == 6
    questions = [p["question"] for p in arith.generate("test", 6, arith.SEED)]
    expected = [ScriptedLM.correct_given[q] for q in questions]
    assert counts["num_correct"].tolist() == expected
    assert 0 < sum(expected) < 6 * 24
    # rescoring the logged responses with the tasks' own extractor gives the same counts;
    # the flexible extractor can only find more correct answers
    rescored = rescore_runs([tmp_path / "chunk1", tmp_path / "chunk2"], "strict")
    assert rescored.counts.equals(counts)
    assert rescored.answers["count"].sum() == 6 * 24
    flexible = rescore_runs([tmp_path / "chunk1", tmp_path / "chunk2"], "flexible").counts
    assert (flexible["num_correct"] >= counts["num_correct"]).all()
    # gold: -len(target)/10 from the scripted model, once per problem
    gold = result.gold
    targets = [" " + p["answer"] for p in arith.generate("test", 6, arith.SEED)]
    assert gold["gold_logprob"].tolist() == pytest.approx([-len(t) / 10 for t in targets])
    assert gold["gold_bytes"].tolist() == [len(t.encode()) for t in targets]

    # the same seed again is the same samples: refused
    _run_lm_eval_in_process(tmp_path / "again", seed=1, metadata={"n_samples": 16})
    with pytest.raises(InputError, match="same seeds"):
        collect_tables([tmp_path / "chunk1", tmp_path / "again"])
    # a different temperature is a different experiment: refused, naming the setting
    _run_lm_eval_in_process(tmp_path / "hot", seed=3, metadata={"n_samples": 4,
                                                                 "temperature": 1.5})
    with pytest.raises(InputError, match="generation_kwargs") as info:
        collect_tables([tmp_path / "chunk1", tmp_path / "hot"])
    assert "chunk1" in str(info.value) and "hot" in str(info.value)


# an lm-eval 0.4 self-consistency task (as lm_eval's gsm8k-cot-self-consistency.yaml:
# `repeats`, a "score-first" and a majority-vote filter) on the arith problems
_SELF_CONSISTENCY_YAML = r"""
task: arith_self_consistency
custom_dataset: !function lm_eval_scaling.harness.arith.load_arith
test_split: test
output_type: generate_until
doc_to_text: "Question: {{question}}\nAnswer:"
doc_to_target: "{{answer.split('#### ')[-1]}}"
repeats: 8
generation_kwargs:
  until: ["\n\n"]
  do_sample: true
  temperature: 1.0
filter_list:
  - name: "score-first"
    filter:
      - function: "regex"
        regex_pattern: "#### (\\-?[0-9\\.\\,]*[0-9]+)"
      - function: "take_first"
  - name: "maj@8"
    filter:
      - function: "regex"
        regex_pattern: "#### (\\-?[0-9\\.\\,]*[0-9]+)"
      - function: "majority_vote"
      - function: "take_first"
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
metadata:
  version: 2.0
"""


def test_lm_eval_repeats_task_of_another_harness_is_rescored(tmp_path: Path) -> None:
    """Samples of a foreign `repeats` task, written by lm_eval itself, rescored against
    the logged target: the counts equal what the scripted model answered correctly."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "arith_self_consistency.yaml").write_text(_SELF_CONSISTENCY_YAML)
    ScriptedLM.correct_given.clear()
    _run_lm_eval_in_process(tmp_path / "run", seed=3, metadata={}, limit=5,
                            include_path=tasks, tasks="arith_self_consistency")
    lines = _samples(tmp_path / "run", "arith_self_consistency")
    assert len(lines) == 5 * 2  # one line per (problem, filter)
    result = rescore_runs([tmp_path / "run"], "strict")
    counts = result.counts
    assert counts["problem_id"].tolist() == [str(i) for i in range(5)]
    assert (counts["num_samples"] == 8).all()
    questions = [p["question"] for p in arith.generate("test", 5, arith.SEED)]
    assert counts["num_correct"].tolist() == [ScriptedLM.correct_given[q] for q in questions]
    assert 0 < counts["num_correct"].sum() < 5 * 8


def _samples(run_dir: Path, task: str) -> list[dict[str, Any]]:
    # lm_eval 0.5 names a group's task "group::task"
    (path,) = [*run_dir.rglob(f"samples_{task}_*.jsonl"), *run_dir.rglob(f"samples_*::{task}_*.jsonl")]
    with path.open() as fh:
        return [json.loads(line) for line in fh]


def test_hf_backend_end_to_end(tmp_path: Path, tiny_model_dir: Path, gsm8k_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    out = tmp_path / "runs"
    n, limit = 8, 3
    env = {**os.environ, "LM_EVAL_SCALING_GSM8K_DIR": str(gsm8k_dir),
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf",
           "--model_args", f"pretrained={tiny_model_dir},dtype=float32", "--device", "cpu",
           "--include_path", str(tasks_dir()), "--tasks", "gsm8k_scaling,arith_scaling",
           "--limit", str(limit), "--batch_size", "16", "--seed", "5",
           "--metadata", json.dumps({"n_samples": n, "max_gen_toks": 32}),
           "--log_samples", "--output_path", str(out)]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    result = collect_tables([out])
    counts = result.counts.set_index(["task", "problem_id"])
    for task in ("gsm8k_passk", "arith_passk"):
        lines = _samples(out, task)
        assert len(lines) == limit
        for line in lines:
            (resps,) = line["resps"]
            assert len(resps) == n
            assert len(set(resps)) == n, "the N samples of a problem must differ"
            rescored = sum(is_correct(r, line["doc"]["final_answer"]) for r in resps)
            row = counts.loc[(task, str(line["doc"]["problem_id"]))]
            assert row["num_samples"] == n and row["num_correct"] == rescored == line["num_correct"]

    # gold log-probabilities against an independent forward pass
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir,
                                                              dtype=torch.float32).eval()
    gold = result.gold.set_index(["task", "problem_id"])
    for task in ("gsm8k_gold_loglik", "arith_gold_loglik"):
        for line in _samples(out, task):
            context = line["arguments"]["gen_args_0"]["arg_0"]
            target = line["arguments"]["gen_args_0"]["arg_1"]
            ctx_ids = tok(context, add_special_tokens=False)["input_ids"]
            whole = tok(context + target, add_special_tokens=False)["input_ids"]
            cont_ids = whole[len(ctx_ids):]
            ids = torch.tensor([ctx_ids + cont_ids])
            with torch.no_grad():
                logp = torch.log_softmax(model(ids).logits[0, :-1].double(), dim=-1)
            positions = torch.arange(len(ctx_ids) - 1, ids.shape[1] - 1)
            expected = float(logp[positions, torch.tensor(cont_ids)].sum())
            got = gold.loc[(task, str(line["doc"]["problem_id"])), "gold_logprob"]
            assert got == pytest.approx(expected, abs=2e-3, rel=1e-5)
            assert gold.loc[(task, str(line["doc"]["problem_id"])), "gold_bytes"] == len(
                target.encode())
