"""`python -m loadtests.bench` (make bench): its options, checked before anything starts."""

from __future__ import annotations

import math
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadtests.bench import play
from loadtests.bench.figures import QUICK_RATES, RATES
from loadtests.bench.model import BROKER_DIR, Options
from loadtests.cli import writable_dir
from loadtests.scenario import MAX_PLANNED_ARRIVALS
from loadtests.stack import MAX_SHARES
from services.config import Clients

MIXED = Clients(library="aiokafka", agencies="librdkafka")
LIBRARIES: dict[str, tuple[Clients, ...]] = {
    "aiokafka": (Clients(library="aiokafka"),),
    "librdkafka": (Clients(library="librdkafka"),),
    "agencies-librdkafka": (MIXED,),
    "both": (Clients(library="aiokafka"), Clients(library="librdkafka")),
    "all": (Clients(library="aiokafka"), Clients(library="librdkafka"), MIXED),
}
WIDE = 200  # columns of the table when the output is a file or a pipe
DESCRIPTION = (
    "Measure end-to-end verifications/s through a fresh local broker and a real registry, in rate"
    " steps, with p50/p99 and CPU per transaction, against Kafka's own producer ceiling."
)
app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Security(StrEnum):
    on = "on"
    off = "off"
    both = "both"


class Libraries(StrEnum):
    aiokafka = "aiokafka"
    librdkafka = "librdkafka"
    agencies_librdkafka = "agencies-librdkafka"
    both = "both"
    all = "all"


def positive(value: float | None) -> float | None:
    """A length or rate is an ordinary positive number: not 0, negative, nan or inf."""
    if value is not None and not 0 < value < math.inf:
        raise typer.BadParameter(f"must be a positive number, got {value}")
    return value


def worker_counts(text: str | None) -> tuple[int, ...] | None:
    """`2` or `1,4`: worker counts, each series played once, in the order given."""
    if text is None:
        return None
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected N or N,M,... got {text!r}") from None
    if len(set(counts)) != len(counts):
        raise typer.BadParameter(f"a count is repeated in {text!r}")
    if any(not 1 <= n <= MAX_SHARES for n in counts):
        raise typer.BadParameter(f"each count must be 1..{MAX_SHARES}, got {text}")
    return counts


def _checked_counts(text: str | None) -> str | None:
    worker_counts(text)
    return text


@app.command(help=DESCRIPTION)
def command(
    quick: Annotated[
        bool, typer.Option("--quick", help="fewer, shorter steps (a smoke run)")
    ] = False,
    max_rate: Annotated[
        float | None,
        typer.Option(callback=positive, help="highest offered rate, verifications/s"),
    ] = None,
    step_seconds: Annotated[
        float | None,
        typer.Option(callback=positive, help="length of each step (15; 5 with --quick)"),
    ] = None,
    warm_up_s: Annotated[
        float | None,
        typer.Option(callback=positive, help="unmeasured traffic first (30; 10 quick)"),
    ] = None,
    registries: Annotated[
        int, typer.Option(min=1, max=8, help="registry instances in each step")
    ] = 1,
    budget_s: Annotated[
        float | None,
        typer.Option(
            callback=positive,
            help="time for every series of one security mode (720 per library; 200 quick)",
        ),
    ] = None,
    runs_dir: Annotated[
        Path, typer.Option(callback=writable_dir, help="where bench-*/ goes")
    ] = Path("runs"),
    broker_dir: Annotated[
        Path,
        typer.Option(
            callback=writable_dir,
            show_default=".cache/brokers",
            help="where each fresh broker keeps its data while it runs",
        ),
    ] = BROKER_DIR,
    security: Annotated[
        Security,
        typer.Option(
            help="the series on a plaintext broker, a secured one, or both (default): "
            "what security costs"
        ),
    ] = Security.both,
    workers: Annotated[
        str | None,
        typer.Option(
            metavar="N[,M...]",
            callback=_checked_counts,
            help="one series per number of worker processes, on the same broker "
            "(default: 1 and one per CPU)",
        ),
    ] = None,
    library: Annotated[
        Libraries,
        typer.Option(
            help="every client (workers, registry, monitor) on aiokafka, on librdkafka, the "
            "agencies alone on librdkafka (agencies-librdkafka), a series on each of the first "
            "two (both, the default) or on all three, side by side on the same broker"
        ),
    ] = Libraries.both,
) -> None:
    """The options as one Options per security mode (off first), then the bench itself."""
    q = quick
    opts = Options(
        quick=q,
        max_rate=max_rate or (QUICK_RATES[-1] if q else RATES[-1]),
        step_seconds=step_seconds or (5.0 if q else 15.0),
        warm_up_s=warm_up_s or (10.0 if q else 30.0),
        registries=registries,
        budget_s=budget_s or (200.0 if q else 720.0) * len(LIBRARIES[library]),
        ceiling_seconds=4.0 if q else 12.0,
        floor_messages=500 if q else 3000,
        runs_dir=runs_dir,
        broker_dir=broker_dir,
        worker_counts=worker_counts(workers) or tuple(sorted({1, max(1, os.cpu_count() or 1)})),
        clients=LIBRARIES[library],
    )
    if opts.max_rate * max(opts.step_seconds, opts.warm_up_s) > MAX_PLANNED_ARRIVALS:
        raise typer.BadParameter(
            f"--max-rate x --step-seconds (or --warm-up-s) plans more than the "
            f"{MAX_PLANNED_ARRIVALS:,} arrivals a step may hold",
            param_hint="'--max-rate'",
        )
    modes = {"off": [False], "on": [True], "both": [False, True]}[security.value]
    chosen = [opts.model_copy(update={"security": on}) for on in modes]
    raise typer.Exit(play.play(chosen, Console(width=None if sys.stdout.isatty() else WIDE)))


if __name__ == "__main__":
    app(prog_name="python -m loadtests.bench")
