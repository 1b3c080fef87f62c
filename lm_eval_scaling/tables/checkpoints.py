"""Checkpoint naming: ``MODEL`` or ``MODEL@REVISION`` everywhere a checkpoint is shown or chosen."""

from __future__ import annotations

import math

__all__ = ["checkpoint_name", "parse_checkpoint"]

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
