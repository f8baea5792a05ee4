"""The one rule for "this host is on this machine", which alone allows `security = "none"`.

Used by the config check and by the IMAP and SMTP clients right before they connect,
so a host the config accepted is never refused later (or the other way round).
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """True for a loopback address or a name in the `localhost` domain (RFC 6761).

    Accepted: 127.0.0.0/8, ::1 (also written [::1]), IPv4-mapped loopback
    (::ffff:127.0.0.1), `localhost` in any case, with or without the root's trailing
    dot, and its subdomains. Anything else, e.g. `localhost.example.com` or
    `127.0.0.1.nip.io`, is a name some DNS server decides about, hence not loopback.
    """
    name = host.lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.endswith("."):
        name = name[:-1]  # the root label: "localhost." is the fully qualified "localhost"
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
