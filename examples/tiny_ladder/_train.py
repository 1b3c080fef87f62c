"""Training pieces of the tiny ladder: tokenizer, packed data, GPT-NeoX sizes, WSD runs.

Everything here is deterministic given its seeds and runs on CPU.  ``build.py`` wires
the pieces together; tests exercise them at toy scale.

Schedule (warmup-stable-decay with branched cooldowns)
    One *main* run per model size: linear warmup over ``warmup_steps``, then constant
    learning rate.  For every checkpoint budget ``T_i`` (in optimiser steps) a branch is
    forked from the main run at step ``round((1 - cooldown_frac) * T_i)`` and decays the
    learning rate linearly to zero over the remaining steps, ending exactly at ``T_i``.
    Each saved checkpoint is therefore annealed, and its token count is ``T_i`` times
    the tokens per step.  Branches see the same data stream as the main run (the batch
    of step ``s`` is a pure function of ``s``).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = [
    "EOS_TOKEN",
    "CheckpointRecord",
    "ModelSize",
    "RunPlan",
    "branch_points",
    "build_model",
    "log_spaced_steps",
    "lr_at",
    "non_embedding_parameters",
    "pack_documents",
    "plan_to_dict",
    "total_parameters",
    "train_run",
    "train_tokenizer",
]

log = logging.getLogger(__name__)

EOS_TOKEN = "<|endoftext|>"
#: pre-tokeniser: a digit (with its leading space) is always its own piece, words keep their
#: leading space and trailing punctuation, so BPE learns whole words and single digits.
_SPLIT_PATTERN = r" ?[0-9]| ?[^\s0-9]+|\s"
_PAD_LABEL = -100


@dataclass(frozen=True)
class ModelSize:
    """A GPT-NeoX shape (intermediate size 4 * hidden, head dim hidden / heads)."""

    name: str
    hidden: int
    layers: int
    heads: int


@dataclass(frozen=True)
class RunPlan:
    """One model size trained once, with an annealed checkpoint at every budget."""

    size: ModelSize
    checkpoint_steps: tuple[int, ...]
    batch_rows: int
    seq_len: int
    lr: float
    warmup_steps: int
    cooldown_frac: float
    weight_decay: float = 0.1
    seed: int = 0

    @property
    def tokens_per_step(self) -> int:
        return self.batch_rows * self.seq_len


@dataclass(frozen=True)
class CheckpointRecord:
    """What ``train_run`` saved for one budget."""

    model: str
    revision: str
    path: str
    steps: int
    tokens: int
    """tokens processed (rows * seq_len per step, padding included)"""
    target_tokens: int
    """non-padding tokens that carried a loss (what the model actually learned from)"""
    final_loss: float
    """training loss of the last batch (one batch: a noisy indicator)"""
    wall_s: float


# --------------------------------------------------------------------------- text + tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int):  # -> PreTrainedTokenizerFast
    """Byte-level BPE over words with single-digit pieces, wrapped for ``save_pretrained``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[EOS_TOKEN], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS_TOKEN, bos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN, pad_token=EOS_TOKEN, model_max_length=1024,
    )


def pack_documents(
    docs: Sequence[Sequence[int]], eos_id: int, seq_len: int, seed: int, *, open_rows: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Pack whole documents (each followed by EOS) into rows that start at a document start.

    First-fit over the ``open_rows`` most recent rows (documents are never split, so every
    row begins exactly like an evaluation prompt).  Returns ``(input_ids, labels)`` int32
    arrays of shape ``(rows, seq_len)``; padding positions hold ``eos_id`` in the inputs
    and ``-100`` in the labels.  A document longer than ``seq_len - 1`` tokens is an
    error.  Document order is shuffled with ``seed``; row order is shuffled again.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(docs))
    closed: list[list[int]] = []
    active: list[list[int]] = []
    for i in order:
        d = [*docs[i], eos_id]
        if len(d) > seq_len:
            raise ValueError(f"document {int(i)} has {len(d)} tokens with EOS > seq_len {seq_len}")
        for row in active:
            if len(row) + len(d) <= seq_len:
                row.extend(d)
                break
        else:
            if len(active) >= open_rows:
                closed.append(active.pop(0))
            active.append(d)
    closed.extend(active)
    perm = rng.permutation(len(closed))
    ids = np.full((len(closed), seq_len), eos_id, dtype=np.int32)
    labels = np.full((len(closed), seq_len), _PAD_LABEL, dtype=np.int32)
    for r, j in enumerate(perm):
        row = closed[j]
        ids[r, : len(row)] = row
        labels[r, : len(row)] = row
    return ids, labels


# --------------------------------------------------------------------------- models


def build_model(size: ModelSize, vocab_size: int, eos_id: int, seq_len: int, seed: int):
    """A freshly initialised GPT-NeoX of ``size`` (untied input/output embeddings)."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    config = GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=4 * size.hidden,
        max_position_embeddings=max(256, seq_len),
        rotary_pct=0.25,
        use_parallel_residual=True,
        tie_word_embeddings=False,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        attn_implementation="eager",
    )
    torch.manual_seed(seed)
    return GPTNeoXForCausalLM(config)


def total_parameters(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def non_embedding_parameters(model: torch.nn.Module) -> int:
    """Parameters excluding the input embedding and the output (unembedding) matrix."""
    emb = model.get_input_embeddings().weight.numel() + model.get_output_embeddings().weight.numel()
    return total_parameters(model) - int(emb)


# --------------------------------------------------------------------------- schedule


def branch_points(plan: RunPlan) -> list[int]:
    """Main-run step at which the cooldown branch of each checkpoint is forked."""
    return [round((1.0 - plan.cooldown_frac) * t) for t in plan.checkpoint_steps]


def lr_at(plan: RunPlan, step: int, *, branch: int | None = None, end: int | None = None) -> float:
    """Learning rate of optimiser step ``step`` (0-based) on the main run or a branch.

    Main run: linear warmup to ``plan.lr`` over ``warmup_steps`` then constant.  A
    branch forked at ``branch`` and ending at ``end`` decays linearly from the main-run
    value at ``branch`` to zero at ``end``.
    """
    warm = plan.lr * min(1.0, (step + 1) / max(1, plan.warmup_steps))
    if branch is None or end is None or step < branch:
        return warm
    base = plan.lr * min(1.0, (branch + 1) / max(1, plan.warmup_steps))
    return base * max(0.0, (end - step) / max(1, end - branch))


# --------------------------------------------------------------------------- training


def _batch(ids: torch.Tensor, labels: torch.Tensor, step: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = ids.shape[0]
    idx = (torch.arange(rows) + step * rows) % n
    return ids[idx].long(), labels[idx].long()


def _step(model, opt, x: torch.Tensor, y: torch.Tensor, lr: float) -> float:
    for g in opt.param_groups:
        g["lr"] = lr
    out = model(input_ids=x, labels=y)
    opt.zero_grad(set_to_none=True)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(out.loss.detach())


def _optimizer(model: torch.nn.Module, plan: RunPlan) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": plan.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=plan.lr, betas=(0.9, 0.95), eps=1e-8,
    )


def train_run(
    plan: RunPlan,
    ids: np.ndarray,
    labels: np.ndarray,
    tokenizer,
    out_dir: Path,
    *,
    on_checkpoint: Callable[[CheckpointRecord], None] | None = None,
    progress: bool = True,
) -> list[CheckpointRecord]:
    """Train ``plan`` and save one annealed checkpoint per budget under ``out_dir/<rev>``.

    Revisions are named ``step<T_i>``.  Returns the records in budget order.
    """
    steps = sorted(plan.checkpoint_steps)
    if steps != list(plan.checkpoint_steps) or len(set(steps)) != len(steps) or steps[0] < 1:
        raise ValueError(f"checkpoint_steps must be increasing positive ints: {plan.checkpoint_steps}")
    forks = branch_points(plan)
    eos_id = int(tokenizer.eos_token_id)
    model = build_model(plan.size, len(tokenizer), eos_id, plan.seq_len, plan.seed)
    model.train()
    opt = _optimizer(model, plan)
    ids_t = torch.from_numpy(ids)
    lab_t = torch.from_numpy(labels)
    target_per_row = (labels != _PAD_LABEL).sum(axis=1)
    records: list[CheckpointRecord] = []
    t0 = time.perf_counter()
    total_work = forks[-1] + sum(t - f for t, f in zip(steps, forks))
    bar = tqdm(total=total_work, desc=plan.size.name, unit="step", disable=not progress,
               mininterval=2.0)
    step = 0
    loss = float("nan")
    for target, fork in zip(steps, forks):
        while step < fork:
            x, y = _batch(ids_t, lab_t, step, plan.batch_rows)
            loss = _step(model, opt, x, y, lr_at(plan, step))
            step += 1
            bar.update(1)
        branch_model = copy.deepcopy(model)
        branch_opt = _optimizer(branch_model, plan)
        # a deep copy: Optimizer.load_state_dict keeps the very tensors it is given (same
        # dtype and device), so without it the branch's steps would update the main run's
        # Adam moments and step count, and a checkpoint would depend on the other budgets
        branch_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
        b_loss = loss
        for s in range(fork, target):
            x, y = _batch(ids_t, lab_t, s, plan.batch_rows)
            b_loss = _step(branch_model, branch_opt, x, y, lr_at(plan, s, branch=fork, end=target))
            bar.update(1)
        revision = f"step{target}"
        path = out_dir / revision
        branch_model.eval()
        branch_model.save_pretrained(path, safe_serialization=True)
        tokenizer.save_pretrained(path)
        n_rows = target * plan.batch_rows
        idx = np.arange(n_rows) % ids.shape[0]
        rec = CheckpointRecord(
            model=plan.size.name, revision=revision, path=str(path), steps=target,
            tokens=int(n_rows * plan.seq_len), target_tokens=int(target_per_row[idx].sum()),
            final_loss=b_loss, wall_s=time.perf_counter() - t0,
        )
        log.info("saved %s@%s: %d tokens, loss %.4f, %.0fs", rec.model, rec.revision,
                 rec.tokens, rec.final_loss, rec.wall_s)
        records.append(rec)
        if on_checkpoint is not None:
            on_checkpoint(rec)
        del branch_model, branch_opt
    bar.close()
    return records


def plan_to_dict(plan: RunPlan) -> dict[str, object]:
    d = asdict(plan)
    d["tokens_per_step"] = plan.tokens_per_step
    d["branch_points"] = branch_points(plan)
    return d


def log_spaced_steps(first: int, last: int, count: int) -> tuple[int, ...]:
    """``count`` log-spaced integer step counts from ``first`` to ``last`` inclusive."""
    if count == 1:
        return (last,)
    vals = np.exp(np.linspace(math.log(first), math.log(last), count))
    out = tuple(round(float(v)) for v in vals)
    if len(set(out)) != count:
        raise ValueError(f"cannot space {count} distinct steps between {first} and {last}")
    return out
