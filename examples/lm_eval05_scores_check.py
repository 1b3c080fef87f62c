"""Compare lm-eval 0.5's logged ``scores_per_repeat`` with rescoring the same samples.

Runs lm_eval (whichever version is importable; meant for lm-eval >= 0.5) on a small
``repeats: 8`` task over the arith problems with a scripted model that answers each
question correctly with probability 1/2 and records how often it did, then imports the
samples twice: ``import lm-eval --metric exact_match`` (lm_eval's own per-repeat scores)
and ``--extractor flexible`` (every response scored again against the logged target).

    PYTHONPATH=/path/to/unzipped/lm_eval-0.5-wheel python examples/lm_eval05_scores_check.py OUT_DIR
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

TASK_YAML = r"""
task: arith_repeats
custom_dataset: !function lm_eval_scaling.harness.arith.load_arith
test_split: test
output_type: generate_until
doc_to_text: "Question: {{question}}\nAnswer:"
doc_to_target: "{{answer.split('#### ')[-1]}}"
repeats: 8
generation_kwargs:
  until: ["\n\n"]
  do_sample: true
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def main(out: Path, limit: int = 4) -> None:
    import lm_eval
    import lm_eval.api.model as lm_model
    from lm_eval._cli.harness import HarnessCLI
    from lm_eval.api import registry

    from lm_eval_scaling.collect.rescore import rescore_runs, scores_per_repeat_runs
    from lm_eval_scaling.harness import arith
    from lm_eval_scaling.harness.gsm8k import gold_final_answer

    problems = arith.generate("test", limit, arith.SEED)
    gold = {p["question"]: gold_final_answer(p["answer"]) for p in problems}
    question_re = re.compile(r"Question: (.*)\nAnswer:\Z", re.DOTALL)
    given: Counter[str] = Counter()

    class Scripted(lm_model.LM):  # type: ignore[misc,name-defined]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__()

        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
            out = []
            for req in requests:
                question = question_re.search(req.args[0]).group(1)  # type: ignore[union-attr]
                answer = int(gold[question])
                if random.random() < 0.5:
                    given[question] += 1
                    out.append(str(answer))
                else:
                    out.append(str(answer + 1))
            return out

        def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            raise NotImplementedError

        def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            raise NotImplementedError

    registry.register_model("scripted_check")(Scripted)
    tasks = out / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "arith_repeats.yaml").write_text(TASK_YAML)
    sys.argv = ["lm_eval", "run", "--model", "scripted_check", "--model_args", "pretrained=scripted",
                "--include_path", str(tasks), "--tasks", "arith_repeats", "--limit", str(limit),
                "--seed", "3", "--log_samples", "--output_path", str(out / "run")]
    cli = HarnessCLI()
    cli.execute(cli.parse_args())
    logged = scores_per_repeat_runs([out / "run"], metric="exact_match").counts
    rescored = rescore_runs([out / "run"], "flexible").counts
    print(json.dumps({
        "lm_eval": getattr(lm_eval, "__version__", "?"),
        "answered_correctly": [given[p["question"]] for p in problems],
        "scores_per_repeat": logged["num_correct"].tolist(),
        "rescored_flexible": rescored["num_correct"].tolist(),
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
