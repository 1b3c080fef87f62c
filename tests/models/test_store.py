"""Per-sample entries in lm_eval's --use_cache database (lm_eval_scaling.models._store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_eval_scaling.models._store import KEY_PREFIX, SampleStore

sqlitedict = pytest.importorskip("sqlitedict")

GEN = {"until": ["\n\n"], "do_sample": True, "temperature": 1.0, "max_gen_toks": 8}


def test_round_trip_in_sqlite_and_partial_problems(tmp_path: Path) -> None:
    db = sqlitedict.SqliteDict(str(tmp_path / "c.db"), autocommit=True)
    db["lm_eval_own_key"] = "x"  # lm_eval's own entries are left alone
    store = SampleStore(db, "m@main|float32", "torch=1,model=None")
    store.put("ctx", GEN, [(0, "a"), (2, "c"), (10, "k")])
    assert store.get("ctx", GEN, 3) == ["a", None, "c"]
    assert store.get("ctx", GEN, 11)[10] == "k"
    assert store.get("other ctx", GEN, 3) == [None] * 3
    db.close()
    reopened = sqlitedict.SqliteDict(str(tmp_path / "c.db"))
    again = SampleStore(reopened, "m@main|float32", "torch=1,model=None")
    assert again.get("ctx", GEN, 3) == ["a", None, "c"]
    assert sum(1 for k in reopened if k.startswith(KEY_PREFIX)) == 3


@pytest.mark.parametrize("change", ["model", "seed", "kwargs", "context"])
def test_key_covers_model_seed_kwargs_and_prompt(change: str) -> None:
    db: dict[str, str] = {}
    SampleStore(db, "m", "s").put("ctx", GEN, [(0, "a")])
    model, seed, gen, ctx = "m", "s", dict(GEN), "ctx"
    if change == "model":
        model = "m@step1000"
    elif change == "seed":
        seed = "s2"
    elif change == "kwargs":
        gen["top_k"] = 50
    else:
        ctx = "ctx "
    assert SampleStore(db, model, seed).get(ctx, gen, 1) == [None]
    assert SampleStore(db, "m", "s").get("ctx", dict(GEN), 1) == ["a"]


def test_disabled_without_a_database() -> None:
    store = SampleStore(None, "m", "s")
    store.put("ctx", GEN, [(0, "a")])
    assert not store.enabled and store.get("ctx", GEN, 2) == [None, None]
