"""Finished samples in lm_eval's ``--use_cache`` database, one entry per sample.

lm_eval's ``CachingLM`` does not cache sampled requests (every repeat would come back
identical), and it writes its own entries only when all requests are done.  Our models
write each finished sample into the same SQLite file (reached through the cache hook
that ``CachingLM`` installs), keyed on::

    (model identity, prompt hash, generation kwargs, run seed, seed scheme, sample index)

so a run killed part-way and rerun with the same command reuses every stored sample
and draws only the missing ones, with the same per-sample seeds (:mod:`._seeds`).
Without ``--use_cache`` nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._seeds import SEED_SCHEME, canonical_kwargs, prompt_hash

__all__ = ["KEY_PREFIX", "SampleStore"]

#: Every key this package writes starts with this (lm_eval's own keys are bare hashes).
KEY_PREFIX: Final = "lm_eval_scaling.sample:"


class SampleStore:
    """Per-sample entries in a dict-like database (``SqliteDict`` or None for no cache)."""

    def __init__(self, db: Any, model_identity: str, run_seed: str) -> None:
        self._db = db
        self._model = model_identity
        self._run_seed = run_seed

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def problem_key(self, context: str, gen_kwargs: Mapping[str, Any]) -> str:
        """The key prefix shared by the samples of one problem under one setting."""
        ident = json.dumps([self._model, prompt_hash(context), canonical_kwargs(gen_kwargs),
                            self._run_seed, SEED_SCHEME])
        return KEY_PREFIX + hashlib.sha256(ident.encode("utf-8")).hexdigest()

    def get(self, context: str, gen_kwargs: Mapping[str, Any], count: int) -> list[str | None]:
        """Stored responses of sample indices 0 .. count-1 (None where missing)."""
        if self._db is None:
            return [None] * count
        prefix = self.problem_key(context, gen_kwargs) + ":"
        found: dict[int, str] = {}
        for key, value in _items_with_prefix(self._db, prefix):
            index = int(key[len(prefix):])
            if index < count:
                found[index] = value
        return [found.get(i) for i in range(count)]

    def put(self, context: str, gen_kwargs: Mapping[str, Any],
            samples: Iterable[tuple[int, str]]) -> None:
        """Store finished samples ``(index, response)`` and commit."""
        if self._db is None:
            return
        prefix = self.problem_key(context, gen_kwargs)
        for i, text in samples:
            self._db[f"{prefix}:{i}"] = text
        commit = getattr(self._db, "commit", None)
        if commit is not None:
            commit()


def _items_with_prefix(db: Any, prefix: str) -> Iterable[tuple[str, Any]]:
    """``(key, value)`` of the entries whose key starts with ``prefix``: one range query
    on a ``SqliteDict``, a scan of any other mapping."""
    conn = getattr(db, "conn", None)
    encode_key = getattr(db, "encode_key", None)
    if conn is not None and encode_key is not None and encode_key(prefix) == prefix:
        # keys stored as text (SqliteDict's default): every ASCII key with this prefix
        # sorts in [prefix, prefix + "\x7f")
        query = f'SELECT key, value FROM "{db.tablename}" WHERE key >= ? AND key < ?'
        for key, value in conn.select(query, (prefix, prefix + "\x7f")):
            yield key, db.decode(value)
        return
    for key in list(db.keys()):
        if isinstance(key, str) and key.startswith(prefix):
            yield key, db[key]
