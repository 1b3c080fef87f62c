from __future__ import annotations

import pytest

from lm_eval_scaling.tables.checkpoints import checkpoint_name, parse_checkpoint


@pytest.mark.parametrize(
    "model,revision,name",
    [
        ("EleutherAI/pythia-12b", "step143000", "EleutherAI/pythia-12b@step143000"),
        ("Pythia_12B_300B", "", "Pythia_12B_300B"),
        ("m", None, "m"),
        ("m", float("nan"), "m"),
    ],
)
def test_roundtrip(model, revision, name) -> None:
    assert checkpoint_name(model, revision) == name
    assert parse_checkpoint(name) == (model, revision if isinstance(revision, str) else "")


def test_natural_order_reads_numbers_and_sizes() -> None:
    from lm_eval_scaling.tables.checkpoints import natural_key

    names = ["pythia-70m", "pythia-160m", "pythia-1b", "pythia-1.4b", "pythia-12b"]
    assert sorted(sorted(names), key=natural_key) == names
    steps = ["m@step2", "m@step2000", "m@step10000", "m@step143000"]
    assert sorted(sorted(steps), key=natural_key) == steps
    tokens = ["Pythia_1.4B_2M", "Pythia_1.4B_2B", "Pythia_1.4B_20B", "Pythia_1.4B_200B"]
    assert sorted(sorted(tokens), key=natural_key) == tokens
