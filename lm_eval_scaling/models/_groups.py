"""Grouping identical ``generate_until`` requests (same context, same generation kwargs).

With ``repeats: N`` lm_eval sends the request of every problem N times; the models of
this package serve each group with one call.  Sample ``i`` of a group is the group's
i-th request in lm_eval's order, so results go back exactly where stock lm_eval puts
them, and the output structure is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._seeds import canonical_kwargs

__all__ = ["RequestGroup", "group_requests"]


@dataclass
class RequestGroup:
    """The requests of one (context, generation kwargs): ``positions`` in the request list."""

    context: str
    gen_kwargs: dict[str, Any]
    positions: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.positions)


def group_requests(args: Sequence[tuple[str, dict[str, Any]]]) -> list[RequestGroup]:
    """Groups of identical ``(context, gen_kwargs)`` request arguments, in first-seen order."""
    groups: dict[tuple[str, str], RequestGroup] = {}
    for pos, (context, gen_kwargs) in enumerate(args):
        key = (context, canonical_kwargs(gen_kwargs))
        group = groups.get(key)
        if group is None:
            group = groups[key] = RequestGroup(context, dict(gen_kwargs))
        group.positions.append(pos)
    return list(groups.values())
