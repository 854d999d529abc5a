"""Headless Chromium over the DevTools pipe, with only the stdlib.

The pipe (``--remote-debugging-pipe``: commands on fd 3, replies on fd 4, NUL-delimited JSON)
needs no port, no websocket package and no browser download.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("NDX_CHROMIUM", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)
TIMEOUT_S = 30.0


class BrowserError(RuntimeError):
    """Chromium could not be started, answered with an error, or did not answer in time."""


class DevTools:
    """One Chromium process and its DevTools pipe; events are kept for later inspection."""

    def __init__(self, profile: Path) -> None:
        exe = shutil.which(CHROMIUM)
        if exe is None:
            raise BrowserError(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()
        # Lift the child's ends above fd 4 so the dup2s onto 3 and 4 cannot clobber each other.
        child_in = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(out_w, fcntl.F_DUPFD_CLOEXEC, 10)
        log = os.open(profile / "chromium.log", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        dup = os.POSIX_SPAWN_DUP2
        actions = [
            (dup, null, 0),
            (dup, log, 1),
            (dup, log, 2),
            (dup, child_in, 3),
            (dup, child_out, 4),
        ]
        args = [exe, *FLAGS, f"--user-data-dir={profile / 'profile'}", "about:blank"]
        try:
            env = dict(os.environ)
            self.pid = os.posix_spawn(exe, args, env, file_actions=actions, setsid=True)
        finally:
            for fd in (cmd_r, out_w, child_in, child_out, log, null):
                os.close(fd)
        self.buffer, self.next_id = b"", 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.out_r], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self.out_r, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Sends one command and returns its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        command: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self.cmd_w, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = self._read_message(deadline)
            if message.get("id") != self.next_id:
                self.events.append(message)
            elif "error" in message:
                raise BrowserError(f"{method}: {message['error']}")
            else:
                return message.get("result", {})

    def wait_event(self, method: str, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        seen = len(self.events)
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method:
                    return event
            seen = len(self.events)
            self.events.append(self._read_message(deadline))

    def drain(self, quiet_s: float = 0.3) -> None:
        """Collects whatever the page still reports until it has been quiet for a moment."""
        with contextlib.suppress(BrowserError):
            while True:
                self.events.append(self._read_message(time.monotonic() + quiet_s))

    def close(self) -> None:
        """Asks the browser to quit, then ends its whole process group, which it leads."""
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close")
        # Wait without reaping: while the leader is a zombie its group id cannot be reused.
        exited = os.WEXITED | os.WNOHANG | os.WNOWAIT
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.waitid(os.P_PID, self.pid, exited) is None:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.cmd_w)
        os.close(self.out_r)


def console_errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and browser log errors (such as failed loads)."""
    out = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            out.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            out.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
    return out
