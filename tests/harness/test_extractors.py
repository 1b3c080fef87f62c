"""Named answer extractors (lm_eval_scaling.harness.extractors) on realistic model outputs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lm_eval_scaling.errors import InputError
from lm_eval_scaling.harness.extractors import (
    INVALID,
    Extractor,
    answers_match,
    extract_answer,
    extractor_names,
    get_extractor,
    is_correct,
    parse_number,
    register_extractor,
)

# (model output, strict extraction, flexible extraction)
REALISTIC = [
    (" Natalia sold 48/2 = 24 clips in May.\nShe sold 48+24 = 72 clips.\n#### 72", "72", "72"),
    (" The total is 1,234 dollars.\n#### 1,234", "1234", "1234"),
    (" He pays 5 * 1 = $5.00 in total.\n#### $5.00", "5", "5"),
    (" She ends with 2 - 5 = -3 degrees.\n#### -3", "-3", "-3"),
    (" Half of 1 is 0.5.\n#### 0.5", "0.5", "0.5"),
    (" So the answer is 18.\n#### 18.", "18", "18"),
    (" 9 * 2 = 18. The answer is 18.", "18", "18"),
    (" The answer is: $1,000,000.", "1000000", "1000000"),
    (" Therefore, the final answer is 42", "42", "42"),
    (" First 3 + 4 = 7, then 7 * 2 = 14 apples.", None, "14"),
    (" I don't know.", None, None),
    (" Janet makes 9 * 2 = $18.\n#### 18\n\nQuestion: ignored #### 99", "18", "18"),
    (" #### 50%", "50", "50"),
    (" 10 + 3 = 13\n####13", "13", "13"),
    (" ####", None, None),
    (" Total 3 and #### answer later #### 7", "7", "7"),
    (" cost is \u22124 so\n#### \u22124", "-4", "-4"),
    (" It costs .75 each.\n#### .75", "0.75", "0.75"),
    (" 120 - 36 = 84 pages left.\nShe reads 84/2 = 42 pages.\n#### 42.0", "42", "42"),
]


@pytest.mark.parametrize(("text", "strict", "flexible"), REALISTIC)
def test_extract_answer_on_realistic_outputs(text: str, strict: str | None,
                                             flexible: str | None) -> None:
    assert extract_answer(text) == strict
    assert extract_answer(text, "flexible") == flexible


@pytest.mark.parametrize(("predicted", "gold", "expected"), [
    ("5.00", "5", True), ("5", "5", True), (".50", "0.5", True), ("-3", "3", False),
    ("1,234", "1234", True), (None, "1", False), ("[invalid]", "1", False), ("72", "27", False),
])
def test_answers_match(predicted: str | None, gold: str, expected: bool) -> None:
    assert answers_match(predicted, gold) is expected


def test_is_correct_uses_marker_before_distractors() -> None:
    assert is_correct(" 18 ducks, 9 eggs\n#### 9", "9")
    assert not is_correct(" 18 ducks, 9 eggs\n#### 18", "9")


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="strict"):
        extract_answer("#### 1", "lenient")  # type: ignore[arg-type]


@given(
    value=st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False,
                      allow_infinity=False),
    dollar=st.booleans(), commas=st.booleans(), period=st.booleans(),
)
def test_marker_roundtrip(value: Decimal, dollar: bool, commas: bool, period: bool) -> None:
    """Any number written after '####' in any GSM8K-ish style is read back exactly."""
    body = f"{abs(value):,.2f}" if commas else f"{abs(value):.2f}"
    text = ("-" if value < 0 else "") + ("$" if dollar else "") + body + ("." if period else "")
    got = extract_answer(f" some steps 3 + 4 = 7\n#### {text}")
    assert got is not None
    assert Decimal(got) == value
    assert parse_number(text) == value


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_canonical_form_is_unique(n: int) -> None:
    """Equal values give equal strings, whatever the notation."""
    assert extract_answer(f"#### {n}") == extract_answer(f"#### {n}.000") == str(n)


def test_registry_names_and_errors() -> None:
    assert {"strict", "flexible", "math_verify"} <= set(extractor_names())
    with pytest.raises(InputError, match="strict.*got 'loose'"):
        get_extractor("loose")
    with pytest.raises(ValueError, match="already registered"):
        register_extractor(Extractor("strict", lambda t: t, lambda a, b: a == b, lambda t: t))


@pytest.mark.parametrize(("text", "strict", "flexible"), REALISTIC)
def test_registered_extractors_are_the_two_modes(text: str, strict: str | None,
                                                 flexible: str | None) -> None:
    assert get_extractor("strict").extract(text) == strict
    assert get_extractor("flexible").extract(text) == flexible


def test_judge_writes_matches_as_the_reference() -> None:
    strict = get_extractor("strict")
    responses = ["#### 5.00", "#### 05", "The answer is 5.", "#### 6", "no idea", None]
    assert strict.judge(responses, "5") == ["5", "5", "5", "6", INVALID, INVALID]
    assert strict.count_correct(responses, "5") == 3
    assert get_extractor("flexible").judge(["so 4 then 5"], "5") == ["5"]


def test_math_verify_extractor() -> None:
    pytest.importorskip("math_verify")
    mv = get_extractor("math_verify")
    assert mv.count_correct(["so it is $\\frac{1}{2}$.", "$0.5$", "$\\frac{2}{3}$", "none"],
                            "\\frac{1}{2}") == 2


def test_math_verify_missing_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "math_verify", None)  # import fails
    with pytest.raises(InputError, match=r"lm-eval-scaling\[math\]"):
        get_extractor("math_verify").extract("$1$")


@pytest.mark.parametrize(("target", "expected"), [
    ("72", "72"), (" 1,234 ", "1234"), ("Natalia sold 48/2 = 24 clips.\n#### 72", "72"),
    ("$5.00", "5"), ("seventy-two", None), ("48/2 = 24", None),
])
def test_reference_of_other_harnesses_targets(target: str, expected: str | None) -> None:
    assert get_extractor("strict").reference(target) == expected
