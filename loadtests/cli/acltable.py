"""Shows the ACL table a secured stack applies, as a person reads it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from services.security import ADMIN, AclRow


def acl_view(rows: Sequence[AclRow], title: str) -> Table:
    """One line per grant, in the order provisioning applies them."""
    table = Table(title=title, caption=_caption(rows), caption_justify="left")
    for column in ("principal", "resource", "pattern", "name", "operation", "why"):
        table.add_column(column, no_wrap=column != "why")
    for r in rows:
        table.add_row(f"User:{r.principal}", r.resource, r.pattern, r.name, r.operation, r.why)
    return table


def _caption(rows: Sequence[AclRow]) -> str:
    principals = len({r.principal for r in rows})
    return (
        f"{len(rows)} ALLOW grants for {principals} principals, host *; everything else is "
        f"denied (allow.everyone.if.no.acl.found=false). User:{ADMIN} is the only super user: "
        "it alone creates and deletes topics and users. READ and WRITE imply DESCRIBE."
    )
