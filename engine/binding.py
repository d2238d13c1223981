"""Whether a server's bind address keeps it on this machine: the one rule the MCP server and the
UI apply before they require a token."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """Whether a server bound to `host` is reachable from this machine only. Unset or empty is
    every interface (Streamlit's default); a host name other than localhost may resolve to
    anything, so only literal loopback addresses and localhost count."""
    name = (host or "").strip().removeprefix("[").removesuffix("]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
