"""The process's descriptor limit, raised at start so that many sessions can be bound at once."""

from __future__ import annotations

import resource

# What 10,000 concurrent sessions need, with room for the store, the admin API and the carriers' links.
WANTED = 10_240 + 1_024


def raise_descriptor_limit(wanted: int = WANTED) -> str:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (as far as the hard limit allows) and say
    what came of it, for the start-up log: a gateway that cannot take ``wanted`` descriptors says
    how many sessions it can hold instead of failing on an accept later."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return f"descriptor limit {_show(soft)}"
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as err:
            return (
                f"descriptor limit {soft}: could not raise it to {target} ({err}); about {soft - 64} sessions at most"
            )
        if target >= wanted:
            return f"descriptor limit raised from {soft} to {target}"
        soft_was, soft = soft, target
        return (
            f"descriptor limit raised from {soft_was} to {soft} (the hard limit); "
            f"about {soft - 64} sessions at most: raise the hard limit (ulimit -Hn) for more"
        )
    return (
        f"descriptor limit {soft} (the hard limit); about {soft - 64} sessions at most: raise it (ulimit -Hn) for more"
    )


def _show(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)
