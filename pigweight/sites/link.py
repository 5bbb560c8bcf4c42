"""Whether a site's nats-server has its leaf link to the hub, from its monitoring port.

The site's PigWeight talks only to its local nats-server, which is up whether or not the
link to the hub is; JetStream's sourcing runs on the hub, out of the site's sight (its
consumer is an internal one). The local server's own /leafz says whether the link is up.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TIMEOUT_S = 2.0


def leaf_linked(monitor_url: str) -> bool | None:
    """True: the leaf connection to the hub is up; False: down; None: the monitoring port
    did not answer (blocking: run it in a thread)."""
    url = monitor_url.rstrip("/") + "/leafz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            data = json.load(answer)
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return int(data.get("leafnodes") or 0) > 0
