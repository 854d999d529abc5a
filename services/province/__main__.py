"""Wiring of the province service: every province agency of the topology in one process."""

from __future__ import annotations

import sys

from services.config import load_settings
from services.process import run_service, setup_logging
from services.requester import host_agencies


def main() -> int:
    setup_logging("province")
    return run_service("province", lambda stop: host_agencies("province", load_settings(), stop))


if __name__ == "__main__":
    sys.exit(main())
