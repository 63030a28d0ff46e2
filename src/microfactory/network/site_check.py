"""Is a site name one of the loaded network's sites? Asked before a token or user is bound to it.

A site token or web user bound to a misspelt site would be accepted and then see nothing, silently.
Without a loaded network there is nothing to check against (a token may be made first), so only a
loaded network refuses a name.
"""

from __future__ import annotations

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.problems import Problem


def unknown_site(uow: UnitOfWork, site: str | None) -> Problem | None:
    """A problem naming the known sites when `site` is not in the loaded network, else None."""
    from microfactory.network.stored_state import active_network_row, network_of  # no import cycle

    if not site:
        return None
    row = active_network_row(uow)
    if row is None:
        return None
    network = network_of(row)
    if site in network.sites:
        return None
    return Problem(
        "site", f"no site {site!r} in network {network.name} (sites: {', '.join(sorted(network.sites))})"
    )
