"""Synthetic GSM8K-like arithmetic word problems: the hooks of the ``arith_*`` tasks
(``harness/tasks/arith/``): :func:`load_arith` (``custom_dataset``) and
:func:`process_docs`.

:func:`generate` returns problems in GSM8K's format: ``{"question": ..., "answer": ...}``
where the answer is a short plain step-by-step solution (one line per operation, no
``<<a*b=c>>`` calculator annotations) ending in ``#### <int>``::

    >>> generate("test", 1, SEED)[0]["answer"]          # doctest: +SKIP
    'Ava has 6 * 7 = 42 shells.\\nShe has 42 + 15 = 57 shells.\\n#### 57'

Difficulty is tuned for models of ~1e4-1e6 parameters and graded, never a negative
intermediate.  Two mixes (:data:`MIXES`): ``"wide"`` (the default, :data:`DEFAULT_MIX`; the
built-in tiny ladder's problems): 1-4 operations crossed with 1-, 2- or 3-digit numbers, so
that per-problem pass rates switch on at many different computes and few answers can be
guessed; ``"v2"`` (the default before 2026-11): 1-3 operations (``+``, ``-``, ``*``;
50/30/20 %), mostly one-digit and some two-digit operands.

Determinism and disjointness
    A problem is drawn from its *skeleton* (the start, the operations and their
    operands; names and objects are decoration).  Every skeleton belongs to exactly one
    split, decided by a keyed hash of the skeleton (``TEST_FRACTION`` of skeletons are
    test skeletons).  So no test question, nor any question with the same arithmetic,
    ever appears in the train split, whatever the seeds.  The output depends only on
    ``(split, n, seed)`` (string-seeded :class:`random.Random`, no global state), and
    ``generate(split, n, seed)`` is a prefix of ``generate(split, n + m, seed)``.
    Questions are unique within a call.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InputError
from .extractors import marked_answer
from .options import int_option

if TYPE_CHECKING:
    import datasets

__all__ = [
    "DEFAULT_MIX",
    "MIXES",
    "SEED",
    "SPLITS",
    "TEST_FRACTION",
    "TEST_SIZE",
    "TRAIN_SIZE",
    "Mix",
    "Split",
    "generate",
    "load_arith",
    "process_docs",
    "split_of",
]

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")
#: Difficulty mixes: ``"wide"`` (1-4 operations, operands of 1, 2 or 3 digits: a wide,
#: smooth spread of difficulty and few guessable answers; solutions up to ~90 tokens) and
#: ``"v2"`` (1-3 operations, mostly one-digit operands; the default before 2026-11).
Mix = Literal["v2", "wide"]
MIXES: tuple[Mix, ...] = ("v2", "wide")
#: The mix of the harness tasks and of the committed tiny ladder (``lm_eval_scaling/data``).
DEFAULT_MIX: Mix = "wide"

#: Default number of test problems the harness task evaluates.
TEST_SIZE = 100
#: Default number of train problems the harness task exposes (few-shot pool).
TRAIN_SIZE = 1000
#: Default seed of the harness task.
SEED = 1234
#: Fraction of problem skeletons reserved for the test split.
TEST_FRACTION = 0.1

_HASH_KEY = b"lm-eval-scaling/arith/v2"

_NAMES: tuple[tuple[str, str], ...] = (
    ("Ava", "She"), ("Ben", "He"), ("Cleo", "She"), ("Dan", "He"), ("Eva", "She"),
    ("Finn", "He"), ("Gia", "She"), ("Hugo", "He"), ("Ivy", "She"), ("Jack", "He"),
    ("Kim", "She"), ("Leo", "He"), ("Mia", "She"), ("Noah", "He"), ("Olga", "She"),
    ("Paul", "He"),
)
_OBJECTS: tuple[str, ...] = (
    "apples", "marbles", "stickers", "cards", "shells", "pencils", "coins", "stamps",
    "cookies", "books", "beads", "eggs",
)
_CONTAINERS: tuple[str, ...] = ("bags", "boxes", "packs", "jars")

# kinds of operations in a skeleton
_Op = Literal["start", "pack", "gain", "loss", "times"]


@dataclass(frozen=True)
class _Step:
    op: _Op
    a: int
    b: int
    result: int


def generate(split: str, n: int, seed: int, *, mix: Mix = DEFAULT_MIX) -> list[dict[str, str]]:
    """``n`` distinct problems of ``split`` (``"train"`` or ``"test"``), deterministic in ``seed``.

    Each problem is ``{"question": str, "answer": str}`` with the answer ending in
    ``#### <int>`` (GSM8K format).  Train and test never share a question (nor an
    arithmetic skeleton).  ``mix`` picks the difficulty distribution (:data:`MIXES`); a
    skeleton's split does not depend on the mix.
    """
    if split not in SPLITS:
        raise InputError(f"arith.generate: split must be one of {SPLITS} (got {split!r})")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InputError(f"arith.generate: n must be a non-negative int (got {n!r})")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"arith.generate: seed must be an int (got {seed!r})")
    if mix not in MIXES:
        raise InputError(f"arith.generate: mix must be one of {MIXES} (got {mix!r})")
    rng = random.Random(f"arith:{split}:{seed}" if mix == "v2" else f"arith:{mix}:{split}:{seed}")
    draw = _draw_skeleton if mix == "v2" else _draw_wide_skeleton
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        steps = draw(rng)
        if split_of(steps) != split:
            continue
        problem = _render(rng, steps)
        if problem["question"] in seen:
            continue
        seen.add(problem["question"])
        out.append(problem)
    return out


def load_arith(**metadata: Any) -> datasets.DatasetDict:
    """lm_eval ``custom_dataset`` hook: train + test problems from ``--metadata`` keys
    ``arith_train_size``, ``arith_test_size``, ``arith_seed``, ``arith_mix``."""
    import datasets

    train_size = int_option(metadata, "arith_train_size", TRAIN_SIZE, minimum=0)
    test_size = int_option(metadata, "arith_test_size", TEST_SIZE, minimum=1)
    seed = int_option(metadata, "arith_seed", SEED)
    mix = metadata.get("arith_mix") or DEFAULT_MIX
    if mix not in MIXES:
        raise InputError(f"--metadata arith_mix: expected one of {MIXES} (got {mix!r})")
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_list(generate("train", train_size, seed, mix=mix)),
        "test": datasets.Dataset.from_list(generate("test", test_size, seed, mix=mix)),
    })


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    """Add the fields the prompt hooks read: ``problem_id`` (index in the split),
    ``solution`` (the generated answer) and ``final_answer`` (its ``#### <int>``)."""

    def add_fields(doc: Mapping[str, Any], index: int) -> dict[str, Any]:
        solution = str(doc["answer"]).strip()
        return {"problem_id": index, "solution": solution,
                "final_answer": marked_answer(solution)}

    return dataset.map(add_fields, with_indices=True)


def split_of(steps: Sequence[_Step]) -> Split:
    """The split a skeleton belongs to (keyed hash of its operations and operands)."""
    key = ";".join(f"{s.op}:{s.a}:{s.b}" for s in steps).encode()
    digest = hashlib.blake2b(key, digest_size=8, key=_HASH_KEY).digest()
    u = int.from_bytes(digest, "big") / 2.0**64
    return "test" if u < TEST_FRACTION else "train"


# --------------------------------------------------------------------------- skeletons


def _operand(rng: random.Random, p_one_digit: float, hi: int) -> int:
    if rng.random() < p_one_digit:
        return rng.randint(2, 9)
    return rng.randint(10, hi)


def _draw_skeleton(rng: random.Random) -> list[_Step]:
    # graded difficulty: many one-step, one-digit problems (learnt first by tiny models),
    # fewer long chains with two-digit numbers, so that pass rates rise gradually
    n_ops = rng.choices((1, 2, 3), weights=(0.5, 0.3, 0.2))[0]
    steps: list[_Step] = []
    if rng.random() < 0.25:
        a, b = rng.randint(2, 5), rng.randint(2, 10)
        steps.append(_Step("pack", a, b, a * b))
        x = a * b
    else:
        x = _operand(rng, 0.6, 50)
        steps.append(_Step("start", 0, x, x))  # the starting count: not an operation
    return _add_operations(rng, steps, x, n_ops, times_below=20, loss_cap=30,
                           gain=lambda: _operand(rng, 0.7, 30))


_WIDE_RANGES: tuple[tuple[int, int], ...] = ((2, 9), (10, 99), (100, 999))


def _draw_wide_skeleton(rng: random.Random) -> list[_Step]:
    # "wide" mix: independent spread in length (1-4 operations) and in magnitude (1-3 digit
    # numbers), so that per-problem pass rates switch on at many different computes
    n_ops = rng.choices((1, 2, 3, 4), weights=(0.3, 0.3, 0.2, 0.2))[0]
    level = rng.choices((0, 1, 2), weights=(0.35, 0.35, 0.3))[0]
    lo, hi = _WIDE_RANGES[level]
    steps: list[_Step] = []
    if rng.random() < 0.2:
        a = rng.randint(2, 9)
        b = rng.randint(2, 9) if level == 0 else rng.randint(10, 10 * level + 20)
        steps.append(_Step("pack", a, b, a * b))
        x = a * b
    else:
        x = rng.randint(lo, hi)
        steps.append(_Step("start", 0, x, x))
    return _add_operations(
        rng, steps, x, n_ops, times_below=333, loss_cap=hi,
        gain=lambda: rng.randint(lo, hi) if rng.random() < 0.6 else rng.randint(2, 9))


def _add_operations(rng: random.Random, steps: list[_Step], x: int, n_ops: int, *,
                    times_below: int, loss_cap: int, gain: Callable[[], int]) -> list[_Step]:
    """Append gain/loss/times steps to ``steps`` (current count ``x``) until it has ``n_ops``
    operations; ``times`` only while ``x <= times_below``, losses of at most ``loss_cap``."""
    while _count_ops(steps) < n_ops:
        extra: list[_Op] = ["times"] if x <= times_below else []
        choices: list[_Op] = ["gain", "gain", "loss", "loss", *extra]
        op = rng.choice(choices)
        if op == "gain":
            b = gain()
            y = x + b
        elif op == "loss":
            if x < 3:
                continue
            b = rng.randint(1, min(x - 1, loss_cap))
            y = x - b
        else:
            b = rng.choice((2, 3))
            y = x * b
        steps.append(_Step(op, x, b, y))
        x = y
    return steps


def _count_ops(steps: Sequence[_Step]) -> int:
    return sum(1 for s in steps if s.op != "start")


# --------------------------------------------------------------------------- rendering


def _render(rng: random.Random, steps: Sequence[_Step]) -> dict[str, str]:
    name, pron = rng.choice(_NAMES)
    obj = rng.choice(_OBJECTS)
    friend = rng.choice([nm for nm, _ in _NAMES if nm != name])
    q: list[str] = []
    a: list[str] = []
    first = steps[0]
    if first.op == "pack":
        box = rng.choice(_CONTAINERS)
        q.append(f"{name} has {first.a} {box} of {obj}. Each has {first.b} {obj}.")
        a.append(f"{name} has {first.a} * {first.b} = {first.result} {obj}.")
    else:
        q.append(f"{name} has {first.result} {obj}.")
    for s in steps[1:]:
        if s.op == "gain":
            verb = rng.choice(("buys", "finds", "gets"))
            q.append(f"{pron} {verb} {s.b} more.")
            a.append(f"{pron} has {s.a} + {s.b} = {s.result} {obj}.")
        elif s.op == "loss":
            if rng.random() < 0.5:
                q.append(f"{pron} gives {s.b} to {friend}.")
            else:
                q.append(f"{pron} loses {s.b}.")
            a.append(f"{pron} has {s.a} - {s.b} = {s.result} {obj}.")
        else:
            word = "twice" if s.b == 2 else "three times"
            q.append(f"Then {pron.lower()} has {word} as many.")
            a.append(f"{pron} has {s.a} * {s.b} = {s.result} {obj}.")
    q.append(f"How many {obj} does {name} have now?")
    a.append(f"#### {steps[-1].result}")
    return {"question": " ".join(q), "answer": "\n".join(a)}
