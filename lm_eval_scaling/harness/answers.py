"""Final-answer extraction for GSM8K-style solutions, and answer comparison.

Pure functions, no lm_eval import.

Extraction (:func:`extract_answer`), in order:

1. the first number after the first ``####`` (the GSM8K answer marker the prompt teaches);
2. else the number after the last ``answer is`` / ``answer:`` (e.g. "The answer is 12.");
3. else, only in ``"flexible"`` mode, the last number in the text.

The default mode is ``"strict"`` (steps 1-2): at temperature 1 and large k a base model
that rambles numbers would otherwise be scored correct by chance from its last number.

A number may carry a sign, a currency sign, thousands separators, decimals, a trailing
period or percent sign: ``#### $1,234.50.`` -> ``"1234.50"``.  Answers compare by
exact decimal value (:func:`answers_match`), so ``5.00`` equals ``5`` and ``0.5``
equals ``.50``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

__all__ = [
    "ExtractionMode",
    "answers_match",
    "extract_answer",
    "gold_final_answer",
    "is_correct",
    "parse_number",
]

ExtractionMode = Literal["strict", "flexible"]

# sign, optional currency, digits with optional thousands separators, optional decimals
_NUMBER: Final = r"[-\u2212]?\s*[$\u00a3\u20ac]?\s*[-\u2212]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
_NUMBER_RE: Final = re.compile(_NUMBER)
_MARKER_RE: Final = re.compile(r"####\s*(" + _NUMBER + r")")
_ANSWER_IS_RE: Final = re.compile(
    r"answer\s*(?:is|=|:)\s*(?:equal\s+to\s+)?[:=]?\s*(" + _NUMBER + r")", re.IGNORECASE
)


def parse_number(text: str) -> Decimal | None:
    """The exact value of a number as written (``"$1,234.50"`` -> ``Decimal("1234.50")``).

    Returns None when ``text`` holds no number.
    """
    s = text.strip().replace("\u2212", "-")
    s = re.sub(r"[$\u00a3\u20ac\s]", "", s).rstrip(".%")
    negative = s.count("-") % 2 == 1
    s = s.replace("-", "").replace(",", "")
    if not s:
        return None
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return -value if negative else value


def extract_answer(text: str, mode: ExtractionMode = "strict") -> str | None:
    """The final answer written in a model response, normalised (``"1234.5"``), or None.

    See the module docstring for the rules.  The result is a canonical decimal string
    (no trailing zeros, no exponent) so that equal values give equal strings.
    """
    if mode not in ("strict", "flexible"):
        raise ValueError(f"extraction mode must be 'strict' or 'flexible', got {mode!r}")
    match = _MARKER_RE.search(text)
    candidate: str | None = match.group(1) if match else None
    if candidate is None:
        found = _ANSWER_IS_RE.findall(text)
        candidate = found[-1] if found else None
    if candidate is None and mode == "flexible":
        found = _NUMBER_RE.findall(text)
        candidate = found[-1] if found else None
    if candidate is None:
        return None
    value = parse_number(candidate)
    return None if value is None else _canonical(value)


def gold_final_answer(solution: str) -> str:
    """The canonical final answer of a GSM8K reference solution (``... #### 72`` -> ``"72"``).

    Raises ValueError if the solution has no ``#### <number>`` line.
    """
    match = _MARKER_RE.search(solution)
    value = parse_number(match.group(1)) if match else None
    if value is None:
        raise ValueError(f"reference solution has no '#### <number>' final line: {solution[-80:]!r}")
    return _canonical(value)


def answers_match(predicted: str | None, gold: str) -> bool:
    """True when ``predicted`` (an extracted answer) has the same decimal value as ``gold``."""
    if predicted is None:
        return False
    a, b = parse_number(predicted), parse_number(gold)
    return a is not None and b is not None and a == b


def is_correct(response: str, gold: str, mode: ExtractionMode = "strict") -> bool:
    """Score one raw response against the gold final answer."""
    return answers_match(extract_answer(response, mode), gold)


def _canonical(value: Decimal) -> str:
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text
