"""`make up`'s local broker is secured: users, ACLs and topics made once per broker data dir.

The per-process credentials files live in the broker's data dir, so a broker made afresh (its
data removed) gets fresh users and keys, and a supervisor started again on the same data reuses
them: services still running keep the passwords they logged in with.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from loadtests.cluster import ADMIN_FILE, Login
from loadtests.cluster.provision import provision, write_process_files
from loadtests.stack.runtopics import stack_topics
from services.config import design_path, load_design, load_settings
from services.kafka.bus import ClientTuning, KafkaTransport
from services.security import ADMIN, load_credentials, process_identities
from services.world import load_topology

log = logging.getLogger("ndx.supervise")
SECRETS = "secrets"


def secrets_dir(broker_data: Path) -> Path:
    return broker_data / SECRETS


def process_file(broker_data: Path, process: str) -> Path:
    """The credentials file of one process of the local stack (registry, ministry, ndxsim...)."""
    return secrets_dir(broker_data) / f"{process}.credentials.yaml"


def admin_login(broker_data: Path) -> tuple[Login | None, Path | None]:
    """How the readiness probe logs in to the secured local broker (None before it is made)."""
    path = broker_data / ADMIN_FILE
    if not path.exists():
        return None, None
    admin = load_credentials(path).security_for(ADMIN)
    return (admin.mechanism, ADMIN, admin.password.get_secret_value()), admin.ca_file


def secure(bootstrap: str, broker_data: Path, topology_file: Path) -> bool:
    """Users, ACLs, topics and credentials files, unless this broker has them; True if made."""
    topology = load_topology(topology_file)
    # a process kind with no identity in this topology (no reconciler: no tax file) has no file
    held = process_identities(topology).items()
    wanted = [process_file(broker_data, p) for p, identities in held if identities]
    if all(path.exists() for path in wanted):
        return False
    admin = load_credentials(broker_data / ADMIN_FILE).security_for(ADMIN)
    made = provision(bootstrap, admin, topology)
    maker = KafkaTransport(bootstrap, ClientTuning(), admin)
    design = load_design(design_path(load_settings()))  # the one the services start with
    topics = stack_topics(topology.agencies(), design.topics, topology.reconcilers())
    asyncio.run(maker.ensure_topics(topics))
    write_process_files(secrets_dir(broker_data), made.credentials, topology)
    log.info(
        "provisioned %d users and %d ACLs in %.1fs",
        len(made.credentials.identities),
        len(made.acls),
        made.seconds,
    )
    return True
