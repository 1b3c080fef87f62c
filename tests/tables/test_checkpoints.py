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
