"""Named answer extractors: a model response -> its final answer, and answer comparison.

The task YAMLs choose an extractor by name (``filter_list: ... extractor: strict``, or
``--metadata '{"answer_extraction": "flexible"}'``), and ``lm-eval-scaling rescore
--extractor NAME`` recounts logged responses with the same registry.  Pure functions,
no lm_eval import.

Registered extractors (:func:`get_extractor`, :func:`extractor_names`):

``strict`` (the default)
    1. the first number after the first ``####`` (the answer marker the prompt teaches,
       :data:`~lm_eval_scaling.harness.prompt.ANSWER_MARKER`);
    2. else the number after the last ``answer is`` / ``answer:`` ("The answer is 12.").
``flexible``
    as ``strict``, else the last number in the text.  At temperature 1 and large k a
    base model that rambles numbers is scored correct by chance from its last number,
    which is why ``strict`` is the default.
``math_verify``
    the math-verify package (optional extra ``lm-eval-scaling[math]``): the last LaTeX or
    plain expression of the response, compared with the reference by symbolic
    equivalence (``\\frac{1}{2}`` equals ``0.5``).

A number may carry a sign, a currency sign, thousands separators, decimals, a trailing
period or percent sign: ``#### $1,234.50.`` -> ``"1234.50"`` -> canonical ``"1234.5"``.
The decimal extractors compare answers by exact decimal value (:func:`answers_match`), so
``5.00`` equals ``5``.

:meth:`Extractor.judge` is what the harness filter, ``rescore`` and maj@k use: every
response becomes its extracted answer, :data:`INVALID` when none was found, and an answer
the extractor matches to the reference is written as the reference itself, so that
``num_correct`` is the number of answers equal to the reference string and equal answers
share one string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from ..errors import InputError
from .prompt import ANSWER_MARKER

__all__ = [
    "DEFAULT_EXTRACTOR",
    "INVALID",
    "Extractor",
    "answers_match",
    "decimal_reference",
    "extract_answer",
    "extractor_names",
    "get_extractor",
    "is_correct",
    "marked_answer",
    "parse_number",
    "register_extractor",
]

#: Filtered value of a response in which no final answer was found.
INVALID: Final = "[invalid]"
#: The extractor of the harness tasks unless the YAML or ``--metadata`` names another.
DEFAULT_EXTRACTOR: Final = "strict"

# sign, optional currency, digits with optional thousands separators, optional decimals
_NUMBER: Final = r"[-\u2212]?\s*[$\u00a3\u20ac]?\s*[-\u2212]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
_NUMBER_RE: Final = re.compile(_NUMBER)
_MARKER_RE: Final = re.compile(re.escape(ANSWER_MARKER) + r"\s*(" + _NUMBER + r")")
_ANSWER_IS_RE: Final = re.compile(
    r"answer\s*(?:is|=|:)\s*(?:equal\s+to\s+)?[:=]?\s*(" + _NUMBER + r")", re.IGNORECASE
)


@dataclass(frozen=True)
class Extractor:
    """A named way to read a final answer from a response and compare it with a reference.

    ``extract(text)`` returns the answer (a canonical string) or None; ``match(answer,
    reference)`` says whether an extracted answer equals the reference answer;
    ``reference(target)`` reads the reference answer from another harness's gold target
    (``"72"``, or a GSM8K solution ending in ``#### 72``), None when it holds none.
    """

    name: str
    extract: Callable[[str], str | None]
    match: Callable[[str, str], bool]
    reference: Callable[[str], str | None]
    description: str = ""

    def judge(self, responses: Iterable[object], reference: str) -> list[str]:
        """The answers of ``responses``: :data:`INVALID` where none was found (or the
        response is not text), ``reference`` where the answer matches it, else the answer."""
        out = []
        for text in responses:
            answer = self.extract(text) if isinstance(text, str) else None
            if answer is None:
                out.append(INVALID)
            elif answer == reference or self.match(answer, reference):
                out.append(reference)
            else:
                out.append(answer)
        return out

    def count_correct(self, responses: Iterable[object], reference: str) -> int:
        """How many of ``responses`` answer ``reference``."""
        return sum(1 for a in self.judge(responses, reference) if a == reference)


_REGISTRY: dict[str, Extractor] = {}


def register_extractor(extractor: Extractor) -> Extractor:
    """Add ``extractor`` under its name (a name may be registered once)."""
    if extractor.name in _REGISTRY:
        raise ValueError(f"answer extractor {extractor.name!r} is already registered")
    _REGISTRY[extractor.name] = extractor
    return extractor


def extractor_names() -> tuple[str, ...]:
    """The registered extractor names."""
    return tuple(_REGISTRY)


def get_extractor(name: str) -> Extractor:
    """The extractor registered as ``name``; InputError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(
            f"answer extractor: expected one of {', '.join(_REGISTRY)} (got {name!r})"
        ) from None


# --------------------------------------------------------------------------- numbers


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


def marked_answer(text: str) -> str | None:
    """The canonical number after the first ``####`` in ``text``, or None."""
    match = _MARKER_RE.search(text)
    value = parse_number(match.group(1)) if match else None
    return None if value is None else _canonical(value)


def extract_answer(text: str, mode: str = "strict") -> str | None:
    """The final answer written in a model response, normalised (``"1234.5"``), or None.

    ``mode`` is ``"strict"`` or ``"flexible"`` (see the module docstring).  The result is
    a canonical decimal string (no trailing zeros, no exponent): equal values give equal
    strings.
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


def answers_match(predicted: str | None, gold: str) -> bool:
    """True when ``predicted`` (an extracted answer) has the same decimal value as ``gold``."""
    if predicted is None:
        return False
    a, b = parse_number(predicted), parse_number(gold)
    return a is not None and b is not None and a == b


def is_correct(response: str, gold: str, extractor: str = DEFAULT_EXTRACTOR) -> bool:
    """Score one raw response against the reference answer with a named extractor."""
    return get_extractor(extractor).count_correct([response], gold) == 1


def decimal_reference(target: str) -> str | None:
    """The reference answer of a gold target for the decimal extractors: the number after
    ``####`` if there is one, else the target when it is just a number."""
    marked = marked_answer(target)
    if marked is not None:
        return marked
    if _NUMBER_RE.fullmatch(target.strip().rstrip(".%")):
        value = parse_number(target)
        return None if value is None else _canonical(value)
    return None


def _canonical(value: Decimal) -> str:
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


# --------------------------------------------------------------------------- math-verify


def _math_verify() -> object:
    try:
        import math_verify
    except ImportError:
        raise InputError(
            "answer extractor 'math_verify' needs the math-verify package: "
            "pip install 'lm-eval-scaling[math]'"
        ) from None
    return math_verify


def _math_verify_extract(text: str) -> str | None:
    mv = _math_verify()
    parsed = mv.parse(text)  # type: ignore[attr-defined]
    if not parsed:
        return None
    return str(parsed[-1])


def _math_verify_match(answer: str, reference: str) -> bool:
    mv = _math_verify()
    gold = mv.parse(_as_math(reference))  # type: ignore[attr-defined]
    pred = mv.parse(_as_math(answer))  # type: ignore[attr-defined]
    return bool(gold and pred and mv.verify(gold, pred))  # type: ignore[attr-defined]


def _as_math(text: str) -> str:
    """An answer string in a form math-verify parses as one expression."""
    stripped = text.strip()
    return stripped if stripped.startswith("$") else f"${stripped}$"


def _math_reference(target: str) -> str | None:
    return target.strip() or None


register_extractor(Extractor(
    "strict", lambda text: extract_answer(text, "strict"), answers_match, decimal_reference,
    "number after '####', else after 'answer is'",
))
register_extractor(Extractor(
    "flexible", lambda text: extract_answer(text, "flexible"), answers_match, decimal_reference,
    "as strict, else the last number in the response",
))
register_extractor(Extractor(
    "math_verify", _math_verify_extract, _math_verify_match, _math_reference,
    "math-verify: last expression, symbolic equivalence (extra [math])",
))
