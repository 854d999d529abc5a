"""The state file the supervisor keeps: what runs, as which process, and how often it restarted."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from loadtests.cluster import ProcessRecord, write_json
from loadtests.stack.components import STATE, Probe

STATE_FILE = STATE / "state.json"
Phase = Literal["starting", "up", "unready", "backoff", "stopped"]


class ComponentState(BaseModel):
    """One component as the supervisor last saw it."""

    name: str
    probe: Probe
    probe_port: int
    ports: tuple[int, ...]
    urls: tuple[str, ...]
    phase: Phase = "starting"
    process: ProcessRecord | None = None
    restarts: int = 0
    last_exit: str | None = None
    next_start_at: float | None = None  # wall-clock time of the next start while in backoff


class StackState(BaseModel):
    """The whole stack: the supervisor's own identity and its components in start order."""

    supervisor: ProcessRecord | None = None
    metrics_url: str | None = None
    bootstrap: str
    components: list[ComponentState]

    def get(self, name: str) -> ComponentState | None:
        return next((c for c in self.components if c.name == name), None)


class StateError(ValueError):
    """The state file exists but cannot be read; the message names it."""


def load(path: Path = STATE_FILE) -> StackState | None:
    """The saved state; None when there is none."""
    try:
        return StackState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        raise StateError(f"{path}: unreadable stack state ({type(exc).__name__})") from None


def save(state: StackState, path: Path = STATE_FILE) -> None:
    write_json(path, state.model_dump_json(indent=1))
