"""Wiring of the ministry service: every ministry agency of the topology in one process."""

from __future__ import annotations

import sys

from services.config import load_settings
from services.process import run_service, setup_logging
from services.requester import host_agencies


def main() -> int:
    setup_logging("ministry")
    return run_service("ministry", lambda stop: host_agencies("ministry", load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
