"""Checkpoint naming: ``MODEL`` or ``MODEL@REVISION`` everywhere a checkpoint is shown or chosen."""

from __future__ import annotations

import math
import re

__all__ = ["checkpoint_name", "natural_key", "parse_checkpoint"]

SEPARATOR = "@"


def checkpoint_name(model: str, revision: str | None = "") -> str:
    """``MODEL@REVISION`` where a revision is given, else ``MODEL``."""
    if revision is None or (isinstance(revision, float) and math.isnan(revision)) or revision == "":
        return str(model)
    return f"{model}{SEPARATOR}{revision}"


def parse_checkpoint(name: str) -> tuple[str, str]:
    """Inverse of :func:`checkpoint_name`: ``(model, revision)``, revision ``""`` if absent.

    The revision is what follows the *last* ``@`` (model names may contain ``@`` only
    in unusual setups; revisions never do).
    """
    model, sep, revision = name.rpartition(SEPARATOR)
    if not sep:
        return name, ""
    return model, revision


_NUMBER = re.compile(r"(\d+(?:\.\d+)?[kKmMbBtT]?)(?![a-zA-Z])|(\d+(?:\.\d+)?)")
_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def natural_key(name: str) -> tuple[tuple[int, float, str], ...]:
    """Sort key reading the numbers in a name as numbers, with a size suffix k/M/B/T:
    ``pythia-70m`` before ``pythia-1b`` before ``pythia-12b``, ``step2000`` before
    ``step10000``, ``Pythia_1.4B_20B`` before ``Pythia_1.4B_200B`` (not the lexicographic
    order)."""
    key: list[tuple[int, float, str]] = []
    pos = 0
    for m in _NUMBER.finditer(str(name)):
        if m.start() > pos:
            key.append((0, 0.0, name[pos:m.start()]))
        text = m.group(0)
        unit = _UNITS.get(text[-1].lower(), 1.0) if text[-1].isalpha() else 1.0
        key.append((1, float(text.rstrip("kKmMbBtT")) * unit, ""))
        pos = m.end()
    if pos < len(name):
        key.append((0, 0.0, name[pos:]))
    return tuple(key)
