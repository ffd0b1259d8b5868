"""``iql finetune``: fine-tune an offline run online, or continue a fine-tuning run. The options are the fields of
:class:`~iql_jax.config.FinetuneConfig` (their docstrings are ``--help``), parsed by tyro as ``iql train``'s."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Sequence

import tyro

from iql_jax.cli.parsing import parse
from iql_jax.cli.train import print_result
from iql_jax.config import FinetuneConfig
from iql_jax.errors import IQLError


@dataclass(frozen=True, kw_only=True)
class FinetuneArgs(FinetuneConfig):
    """Fine-tune an offline run online (paper Table 2): every member keeps training while it collects data.

    One environment step then one update per member (official), exploration by sampling the policy, the offline
    data plus a FIFO of online transitions sampled uniformly. The actor lr becomes constant (the antmaze-finetune
    preset): after an offline run with the cosine schedule, whose lr had decayed to about 0, online training uses
    the offline run's starting actor lr (agent.actor_lr, 3e-4 in every preset), with the Adam moments carried over.
    Maze episodes end at the goal (terminal, mask 0), as the offline sparse-reward recipe has it.
    """

    run_dir: tyro.conf.Positional[Annotated[str, tyro.conf.arg(metavar="RUN_DIR")]]
    """The offline run to start from (its newest checkpoint); with --resume, the fine-tuning run itself."""
    resume: bool = False
    """Continue the fine-tuning run RUN_DIR from its newest checkpoint (only --quiet may be given with it)."""
    quiet: bool = False
    """No progress bar."""


def finetune_command(argv: Sequence[str]) -> int:
    from iql_jax.runs.finetune_run import finetune_run, resume_finetune
    from iql_jax.runs.rundir import FINETUNE_FILE
    from iql_jax.runs.meaning import online_phase_note
    from iql_jax.runs.stats import scale_words

    args = parse(FinetuneArgs, argv, "iql finetune")
    config = FinetuneConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(FinetuneConfig)})
    if args.resume:
        given = [f.name for f in dataclasses.fields(FinetuneConfig) if getattr(config, f.name) != f.default]
        if given:
            raise IQLError(f"iql finetune --resume: {', '.join('--' + k.replace('_', '-') for k in given)} cannot "
                           f"be changed when resuming (the run's {FINETUNE_FILE} fixes it); only --quiet may be "
                           "given")
        result = resume_finetune(args.run_dir, progress=not args.quiet)
    else:
        result = finetune_run(args.run_dir, config, progress=not args.quiet)
    print_result(result)
    t2 = result.summary.get("offline_to_online")
    if t2 and t2.get("offline") is not None and t2.get("online") is not None:  # None: no evaluation on one side
        print(f"offline -> fine-tuned: {t2['offline']:.1f} -> {t2['online']:.1f} (last evaluations, mean over "
              f"members; {scale_words(t2['score'])})")
    note = online_phase_note(result.run_dir) if result.summary else None
    if note:
        print(note)
    return 0
