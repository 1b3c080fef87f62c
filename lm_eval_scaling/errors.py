"""Exception types of lm-eval-scaling.

Every error a user can trigger with bad input is a :class:`LmEvalScalingError`;
its message names the file, the field and the offending value.
"""

from __future__ import annotations

__all__ = [
    "FitError",
    "InputError",
    "LmEvalScalingError",
    "ParameterError",
    "TableError",
]


class LmEvalScalingError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(LmEvalScalingError, ValueError):
    """An argument or input path is unusable (missing file, unknown format, bad option)."""


class TableError(InputError):
    """A tidy table failed validation.

    Attributes name where the problem is, so callers can act on it programmatically.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        row: int | None = None,
        value: object = None,
    ) -> None:
        parts = []
        if source is not None:
            parts.append(str(source))
        if row is not None:
            parts.append(f"row {row}")
        if field is not None:
            parts.append(f"field {field!r}")
        where = ", ".join(parts)
        full = f"{where}: {message}" if where else message
        if value is not None:
            full += f" (got {value!r})"
        super().__init__(full)
        self.source = source
        self.field = field
        self.row = row
        self.value = value


class FitError(LmEvalScalingError, RuntimeError):
    """A fit could not be set up (too few points, bad covariates)."""


class ParameterError(InputError):
    """A scaling-law parameter is unusable (not finite, or outside its domain).

    ``name`` is the parameter (or argument) name and ``value`` the offending value.
    """

    def __init__(self, message: str, *, name: str, value: object) -> None:
        super().__init__(f"parameter {name!r}: {message} (got {value!r})")
        self.name = name
        self.value = value
