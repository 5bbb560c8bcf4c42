"""How a site's link to the central stands, read from its own nats-server.

The site's PigWeight talks only to its local nats-server, which is up whether or not the
leaf link to the hub is. What the hub has taken shows on the site's stream itself: the hub's
sourcing is a push consumer there delivering under `pw.deliver.<site>`; it is bound while the
link is up, and its delivered sequence is how far the central has the stream. The records
still to go are counted by a short-lived consumer on the records subject from there on (the
stream also carries camera states and counts, which are no records).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext, api

from pigweight.sites.nats_config import deliver_prefix, site_stream
from pigweight.sites.wire import subject_of


@dataclass(frozen=True, slots=True)
class LinkState:
    up: bool  # the hub's sourcing is bound: the central takes the stream now
    delivered_seq: int | None  # how far the hub has the stream; None: never seen
    last_sent_ts: float | None  # when the hub last took a message (the site's clock)


async def link_state(
    js: JetStreamContext, site: str, known: LinkState | None, now: float
) -> LinkState:
    """The hub's sourcing consumer on the site's stream, or what was known of it before.
    `now`: when the delivered sequence is seen to move, on a server that keeps no time of
    the last delivery (before nats-server 2.10)."""
    prefix = deliver_prefix(site) + "."
    up = False
    seq = None if known is None else known.delivered_seq
    sent = None if known is None else known.last_sent_ts
    for info in await js.consumers_info(site_stream(site)):
        target = info.config.deliver_subject or ""
        if not target.startswith(prefix):
            continue
        up = up or bool(info.push_bound)
        if info.delivered is not None and info.delivered.stream_seq is not None:
            delivered = int(info.delivered.stream_seq)
            if info.delivered.last_active is not None:
                active = info.delivered.last_active.timestamp()
                sent = active if sent is None else max(sent, active)
            elif delivered > (seq or 0):
                sent = now
            seq = max(seq or 0, delivered)
    return LinkState(up, seq, sent)


async def records_after(js: JetStreamContext, site: str, seq: int) -> int:
    """Record messages (weighings, corrections, deletions, confirmations) after `seq`."""
    config = api.ConsumerConfig(
        filter_subject=subject_of(site, "record"),
        deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=seq + 1,
        ack_policy=api.AckPolicy.NONE,
        inactive_threshold=30.0,  # gone by itself should the delete below not arrive
    )
    info = await js.add_consumer(site_stream(site), config)
    try:
        return int(info.num_pending or 0)
    finally:
        await js.delete_consumer(site_stream(site), info.name)
