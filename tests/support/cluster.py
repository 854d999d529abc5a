"""What a local cluster's metadata says about a topic, and which broker JVMs still run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

# partition -> (leader, replicas, in-sync replicas); leader -1 when it has none
Placement = dict[int, tuple[int, list[int], list[int]]]


async def placement(bootstrap: str, topic: str) -> Placement:
    """The topic's leaders and replicas; the admin client asks a random known broker, which may
    be the one just killed, or one that has not yet learnt of a topic just created (it answers
    with no partitions), so such an answer is asked again."""
    for _ in range(50):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            (described,) = await admin.describe_topics([topic])
            if described["partitions"]:
                return {
                    p["partition"]: (p["leader"], p["replicas"], p["isr"])
                    for p in described["partitions"]
                }
            await asyncio.sleep(0.2)
        except KafkaError:
            await asyncio.sleep(0.2)
        finally:
            await admin.close()
    raise AssertionError(f"no broker of {bootstrap} describes {topic}")


def java_processes_using(data_dir: Path) -> list[int]:
    """Live broker JVMs whose command line names a path under data_dir."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
            stat = (cmdline.parent / "stat").read_text()
        except OSError:
            continue
        alive = stat.rsplit(")", 1)[1].split()[0] != "Z"
        if alive and "kafka.Kafka" in text and str(data_dir.resolve()) in text:
            found.append(int(cmdline.parent.name))
    return found
