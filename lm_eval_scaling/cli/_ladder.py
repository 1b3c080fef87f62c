"""``lm-eval-scaling ladder run|slurm|init``: whole ladders from one command."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "ladder",
        help="sample a whole ladder (run, SLURM array, ladder table from configs)",
        description="Plan, run and resume the sampling of every checkpoint of a ladder.",
    )
    ladder_sub = p.add_subparsers(dest="ladder_command", metavar="LADDER_COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])

    run = ladder_sub.add_parser(
        "run",
        help="every checkpoint x chunk here, finished chunks skipped, then collect",
        description=(
            "Sample every checkpoint (MODEL@REVISION) of LADDER in --chunks chunks of "
            "--n-samples/--chunks samples (chunk k: --seed FIRST_SEED+k-1), one lm_eval run "
            "each (with --use_cache: an interrupted chunk resumes), skipping finished chunks, "
            "then collect everything into OUT/tables (counts.csv, gold.csv, runs.csv)."
        ),
    )
    _plan_arguments(run)
    run.add_argument("--only", type=int, default=None, metavar="INDEX",
                     help="run only job INDEX of the plan (a SLURM array task)")
    run.add_argument("--no-collect", action="store_true", help="do not collect at the end")
    run.set_defaults(handler=_run)

    slurm = ladder_sub.add_parser(
        "slurm",
        help="the same plan as a SLURM array script (one task per checkpoint x chunk)",
        description=(
            "Write an sbatch script whose array task i runs job i of the plan of "
            "`ladder run` with the same arguments; submit it with `sbatch FILE`."
        ),
    )
    _plan_arguments(slurm)
    slurm.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="where to write the sbatch script")
    slurm.add_argument("--sbatch", action="append", default=[], metavar="OPTION",
                       help="an extra #SBATCH option, e.g. --sbatch=--gres=gpu:1 (repeatable)")
    slurm.add_argument("--max-parallel", type=int, default=None, metavar="N",
                       help="at most N array tasks at once")
    slurm.set_defaults(handler=_slurm)

    init = ladder_sub.add_parser(
        "init",
        help="a ladder table from checkpoints' configs (no weights loaded)",
        description=(
            "Write a ladder table (model, revision, parameters, tokens, "
            "non_embedding_parameters, compute) for the given checkpoints: parameters by "
            "instantiating each config on the meta device, tokens = training step (from "
            "a stepN revision or path) x tokens per step."
        ),
    )
    init.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT",
                      help="MODEL@REVISION (Hub name or local directory), e.g. "
                           "EleutherAI/pythia-70m@step1000")
    init.add_argument("--tokens-per-step", required=True, metavar="N|PRESET",
                      help="tokens per optimiser step, or a preset (pythia: 2,097,152)")
    init.add_argument("--trust-remote-code", action="store_true")
    init.add_argument("-o", "--output", required=True, metavar="FILE",
                      help="ladder table to write (.csv, .tsv or .parquet)")
    init.set_defaults(handler=_init)


def _plan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ladder", metavar="LADDER",
                   help="ladder table (CSV/TSV/Parquet with model, revision, ...) or 'pythia'")
    p.add_argument("--tasks", required=True, help="lm_eval tasks, comma-separated "
                   "(e.g. gsm8k_scaling)")
    p.add_argument("--n-samples", type=int, required=True, metavar="N",
                   help="samples per problem and checkpoint, over all chunks")
    p.add_argument("--chunks", type=int, default=1, metavar="K",
                   help="chunks per checkpoint (each N/K samples, its own seed); default 1")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--model", default="hf-repeats",
                   help="lm_eval model: hf-repeats (default), vllm-repeats, hf, vllm")
    p.add_argument("--model-args", default="", metavar="ARGS",
                   help="extra --model_args (pretrained, revision, seed are set per job), "
                        "e.g. dtype=bfloat16")
    p.add_argument("--first-seed", type=int, default=1, metavar="S",
                   help="seed of chunk 1 (chunk k: S+k-1); default 1")
    p.add_argument("--metadata", default="{}", metavar="JSON",
                   help="extra task --metadata (n_samples is set by the plan), "
                        "e.g. '{\"max_gen_toks\": 512}'")
    p.add_argument("--lm-eval-args", default="", metavar="ARGS",
                   help="further lm_eval run arguments, one string, e.g. "
                        "'--batch_size 64 --device cuda'")


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..errors import InputError
    from ..runs.plan import LadderSettings

    try:
        metadata = json.loads(args.metadata)
    except json.JSONDecodeError as exc:
        raise InputError(f"--metadata: not valid JSON ({exc.msg}): {args.metadata!r}") from exc
    if not isinstance(metadata, dict):
        raise InputError(f"--metadata: expected a JSON object (got {args.metadata!r})")
    if "n_samples" in metadata:
        raise InputError("--metadata: n_samples is set by --n-samples / --chunks")
    return LadderSettings(
        tasks=tuple(t.strip() for t in args.tasks.split(",") if t.strip()),
        n_samples=args.n_samples, chunks=args.chunks, model=args.model,
        model_args=args.model_args, first_seed=args.first_seed, metadata=metadata,
        lm_eval_args=tuple(shlex.split(args.lm_eval_args)),
    )


def _plan(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..runs.plan import plan_jobs

    settings = _settings(args)
    return settings, plan_jobs(args.ladder, settings, args.out)


def _run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..runs.execute import collect_ladder, run_jobs
    from ..runs.plan import check_plan_file

    settings, jobs = _plan(args)
    check_plan_file(settings, args.out)
    if args.only is not None:
        if not 0 <= args.only < len(jobs):
            raise InputError(f"--only {args.only}: the plan has jobs 0..{len(jobs) - 1}")
        jobs_to_run = [jobs[args.only]]
    else:
        jobs_to_run = jobs
    ran = run_jobs(jobs_to_run, args.out)
    sys.stdout.write(f"{ran} job(s) run, {len(jobs_to_run) - ran} already finished "
                     f"({len(jobs)} in the plan)\n")
    if args.no_collect or args.only is not None:
        return 0
    result, paths = collect_ladder(jobs, args.out)
    sys.stdout.write(f"counts: {paths['counts']} ({len(result.counts)} rows)\n"
                     f"gold:   {paths['gold']} ({len(result.gold)} rows)\n"
                     f"runs:   {paths['runs']} ({len(result.runs)} samples files)\n")
    return 0


def _slurm(args: argparse.Namespace) -> int:
    from ..runs.plan import check_plan_file
    from ..runs.slurm import slurm_script
    from ..tables.files import check_output_file, write_text

    check_output_file(args.output, inputs=[args.ladder], table=False)
    settings, jobs = _plan(args)
    check_plan_file(settings, args.out)
    argv = [str(Path(args.ladder).resolve()) if Path(args.ladder).exists() else args.ladder,
            "--tasks", args.tasks, "--n-samples", str(args.n_samples), "--chunks",
            str(args.chunks), "--out", str(Path(args.out).resolve()), "--model", args.model,
            "--first-seed", str(args.first_seed), "--metadata", args.metadata]
    if args.model_args:
        argv += ["--model-args", args.model_args]
    if args.lm_eval_args:
        argv += ["--lm-eval-args", args.lm_eval_args]
    script = slurm_script(jobs, argv, Path(args.out).resolve(), sbatch=args.sbatch,
                          max_parallel=args.max_parallel)
    (Path(args.out) / "slurm").mkdir(parents=True, exist_ok=True)  # for --output logs
    write_text(args.output, script)
    sys.stdout.write(f"{args.output}: {len(jobs)} array tasks; submit with: sbatch "
                     f"{shlex.quote(args.output)}\n")
    return 0


def _init(args: argparse.Namespace) -> int:
    from ..runs.init import ladder_table
    from ..tables.files import check_output_file, write_table_file

    check_output_file(args.output)
    table = ladder_table(args.checkpoints, tokens_per_step=args.tokens_per_step,
                         trust_remote_code=args.trust_remote_code)
    write_table_file(table, Path(args.output))
    sys.stdout.write(f"{args.output}: {len(table)} checkpoints\n")
    return 0
