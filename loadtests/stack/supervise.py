"""The detached supervisor `ndxsim up` leaves behind: every component is its child, kept running.

Run by `ndxsim up` as `python -m loadtests.stack.supervise`; not meant to be started by hand.
SIGTERM ends the supervisor alone (its components keep running, `ndxsim down` stops them
next); SIGUSR1 starts every component that is waiting out its backoff now.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import signal
from pathlib import Path
from types import FrameType

from loadtests.stack import state as stackstate
from loadtests.stack.components import BROKER_PORT, STATE, components
from loadtests.stack.supervisor import Supervisor

log = logging.getLogger("ndx.supervise")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.stack.supervise", description=__doc__
    )
    parser.add_argument("--bootstrap", default=None, help="an existing cluster: no local broker")
    parser.add_argument("--topology", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s supervisor %(levelname)s %(message)s")
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "supervisor.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # one supervisor per stack
        except BlockingIOError:
            log.error("another supervisor runs on %s", STATE)
            return 1
        try:
            prior = stackstate.load()
        except stackstate.StateError as exc:
            log.warning("%s; starting afresh", exc)
            prior = None
        comps = components(args.bootstrap, args.topology)
        bootstrap = args.bootstrap or f"127.0.0.1:{BROKER_PORT}"
        supervisor = Supervisor(comps, bootstrap, prior, args.topology)

        def on_stop(signum: int, frame: FrameType | None) -> None:
            supervisor.stopping.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGUSR1, lambda signum, frame: supervisor.start_now())
        supervisor.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
