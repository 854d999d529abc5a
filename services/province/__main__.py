"""Wiring of the province service: every province agency of the topology in one process."""

from __future__ import annotations

import sys

from services.shared.app import run_service, setup_logging
from services.shared.hostmain import host_agencies
from services.shared.settings import load_settings


def main() -> int:
    setup_logging("province")
    return run_service("province", lambda stop: host_agencies("province", load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
