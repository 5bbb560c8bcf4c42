"""The NATS side: connecting with the site's or the central's credentials, and the JetStream
streams and consumer they rely on (created when missing, so a first start needs no setup).

A site keeps `PW_SITE_<site>` on its own nats-server (its JetStream domain is the site id): a
write never needs the link to the hub. The central keeps one `PW_FROM_<site>` on the hub per
site, which *sources* the site's stream through the site's domain (`$JS.<site>.API`):
JetStream itself carries what the site stored while the link was down once it is back. The
site's id in its stream's name keeps the sourcing's flow-control replies
(`$JS.FC.<stream>.>`) apart: a site's leaf link may take only its own (nats_config.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.errors import UnexpectedEOF
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from pigweight.settings import SiteSettings
from pigweight.sites.backoff import Backoff
from pigweight.sites.nats_config import deliver_prefix, site_stream
from pigweight.sites.wire import site_prefix

logger = logging.getLogger(__name__)

CENTRAL_CONSUMER = "central"
# The window in which JetStream drops a message whose Nats-Msg-Id it already stored. A
# publisher killed between the PubAck and deleting its outbox row sends the row again when it
# starts: a day covers any restart but one after a day-long outage, and past it the central's
# unique keys still take a repeat as nothing. Ids are kept in memory: a farm sends a few
# thousand a day (camera states and counts carry none).
DUPLICATE_WINDOW_S = 24 * 3600.0
# What a site's stream keeps while the link is down: records, camera states and counts
# together; the oldest go first past either limit (docs/operations.md, "Sites").
SITE_MAX_AGE_S = 90 * 24 * 3600.0
SITE_MAX_BYTES = 4 * 1024**3
CENTRAL_MAX_AGE_S = 30 * 24 * 3600.0  # the central takes them within seconds; this is slack
# A message delivered to a central that died before its ack comes again after this. A batch
# commits in milliseconds, and a repeat is a no-op (a slow commit only costs a repeat): short
# is safe, and a restarted central has the backlog again within seconds.
ACK_WAIT_S = 2.0
# The same connection error again and again (a hub away for hours) is logged this often.
REPEAT_LOG_EVERY = 60


def central_stream(site: str) -> str:
    return f"PW_FROM_{site}"


async def connect(
    settings: SiteSettings,
    name: str,
    on_error: Callable[[str], None] | None = None,
    inbox_prefix: str | None = None,
    backoff: Backoff | None = None,
) -> NATS:
    """A connection to NATS_URL with NATS_USER/NATS_PASSWORD and TLS when configured; it
    reconnects by itself for ever. Raises on a first connect that fails (the caller retries).

    Errors are logged by the callbacks below, in words, never with the password, and handed
    to `on_error` (a refused login is retried for ever, never raised: the owner's status
    says it from there). With `backoff`, the first connect keeps trying too, and every try
    (first or after a drop) waits as `backoff` says: one warning a try, with the wait."""
    tls = _tls(settings)
    client = NATS()
    # TLS 1.3 finishes the client's handshake before the server checks for a certificate: a
    # server that wants one and gets none then just closes the connection.
    certless = tls is not None and settings.nats_tls_cert is None
    watch = _Watch(client, settings.nats_url, on_error, backoff, certless)
    options = _options(settings, name, inbox_prefix, tls)
    options.update(
        error_cb=watch.error, disconnected_cb=watch.disconnected, reconnected_cb=watch.reconnected
    )
    if backoff is not None:
        options["reconnect_time_wait"] = backoff.first_s
    try:
        await client.connect(**options)  # type: ignore[arg-type]
    except asyncio.CancelledError:  # given up while trying (connect_until): nothing left open
        with contextlib.suppress(Exception):
            await client.close()
        raise
    await watch.reconnected(quiet=True)
    return client


class _Watch:
    """A connection's callbacks: errors logged in words (and handed on); with a backoff, a
    failed try sets the wait before the next one (nats-py sleeps `reconnect_time_wait`).

    Without one the client retries every second for as long as the server is away: the first
    of a run of the same error is a warning, the rest once a minute (a link down for a day
    would write 86,400 lines otherwise)."""

    def __init__(
        self,
        client: NATS,
        url: str,
        on_error: Callable[[str], None] | None,
        backoff: Backoff | None,
        certless: bool,
    ) -> None:
        self.client, self.url, self.on_error, self.backoff = client, url, on_error, backoff
        self.certless = certless
        self.up = False
        self.last_text, self.times = "", 0

    async def error(self, exc: Exception) -> None:
        text = tls_words(exc) or (type(exc).__name__ if not str(exc) else str(exc))
        if self.certless and isinstance(exc, _CLOSED):
            text += " (TLS: does the NATS server ask for a client certificate? NATS_TLS_CERT)"
        if self.backoff is not None and not self.up:  # a try failed: wait longer next time
            delay_s = self.backoff.next()
            self.client.options["reconnect_time_wait"] = delay_s
            logger.warning(
                "nats: no server at %s (%s); trying again in %.1f s", self.url, text, delay_s
            )
        else:
            self._log(text)
        if self.on_error is not None:
            self.on_error(text)

    def _log(self, text: str) -> None:
        self.times = self.times + 1 if text == self.last_text else 0
        self.last_text = text
        if self.times == 0:
            logger.warning("nats: %s", text)
        elif self.times % REPEAT_LOG_EVERY == 0:
            logger.warning("nats: %s (again, %d times)", text, self.times)

    async def disconnected(self) -> None:
        self.up = False
        logger.info("nats: disconnected; reconnecting")

    async def reconnected(self, quiet: bool = False) -> None:
        self.up = True
        self.last_text, self.times = "", 0
        if self.backoff is not None:
            self.backoff.reset()
        if not quiet:
            logger.info("nats: reconnected")


async def connect_until(
    stopped: Callable[[], bool], settings: SiteSettings, name: str, backoff: Backoff
) -> NATS | None:
    """`connect` with `backoff`, given up (None) once `stopped()` says so (polled 5 times a
    second): a worker told to stop while the server is away stops at once."""
    task = asyncio.create_task(connect(settings, name, backoff=backoff))
    while not task.done():
        if stopped():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None
        await asyncio.wait({task}, timeout=0.2)
    return task.result()


def _options(
    settings: SiteSettings, name: str, inbox_prefix: str | None, tls: ssl.SSLContext | None
) -> dict[str, object]:
    options: dict[str, object] = {
        "servers": [settings.nats_url],
        "name": name,
        "connect_timeout": 3,
        "reconnect_time_wait": 1,
        "max_reconnect_attempts": -1,
        "allow_reconnect": True,
    }
    if inbox_prefix is not None:
        options["inbox_prefix"] = inbox_prefix
    if settings.nats_user:
        options["user"] = settings.nats_user
    if settings.nats_password is not None:
        options["password"] = settings.nats_password.get_secret_value()
    if tls is not None:
        options["tls"] = tls
    return options


class TlsFileError(ValueError):
    """A NATS_TLS_* file that cannot be used; the message names the setting."""


def _tls(settings: SiteSettings) -> ssl.SSLContext | None:
    ca, cert, key = settings.nats_tls_ca, settings.nats_tls_cert, settings.nats_tls_key
    if ca is None and cert is None:
        return None if not settings.nats_url.startswith("tls://") else ssl.create_default_context()
    # OpenSSL's own errors name no file, and one about a file reads like the server's refusal
    for name, path in (("NATS_TLS_CA", ca), ("NATS_TLS_CERT", cert), ("NATS_TLS_KEY", key)):
        if path is not None:
            _readable(name, path)
    try:
        context = ssl.create_default_context(cafile=None if ca is None else str(ca))
    except ssl.SSLError as error:
        raise TlsFileError(f"NATS_TLS_CA: no CA certificate in {ca}: {error.reason}") from None
    if cert is not None and key is not None:
        try:
            context.load_cert_chain(str(cert), str(key))
        except ssl.SSLError as error:
            raise TlsFileError(
                f"NATS_TLS_CERT, NATS_TLS_KEY: not a certificate and its key: {error.reason}"
            ) from None
    return context


# A server closing the connection under a client, as the socket or nats-py says it.
_CLOSED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, UnexpectedEOF)


def _readable(name: str, path: Path) -> None:
    try:
        path.open("rb").close()
    except OSError as error:
        raise TlsFileError(f"{name}: cannot read {path}: {error.strerror or error}") from None


async def ensure_site_stream(js: JetStreamContext, site: str) -> None:
    """The site's `PW_SITE_<site>` stream on its local nats-server, made if missing."""
    config = api.StreamConfig(
        name=site_stream(site),
        subjects=[f"{site_prefix(site)}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=SITE_MAX_AGE_S,
        max_bytes=SITE_MAX_BYTES,
        duplicate_window=DUPLICATE_WINDOW_S,
    )
    await ensure_stream(js, config)


async def ensure_central_stream(js: JetStreamContext, site: str) -> None:
    """On the hub: `PW_FROM_<site>`, sourcing the site's `PW_SITE_<site>` through its domain,
    only the site's own subjects, and the central's durable pull consumer on it."""
    source = api.StreamSource(
        name=site_stream(site),
        filter_subject=f"{site_prefix(site)}.>",
        external=api.ExternalStream(api=f"$JS.{site}.API", deliver=deliver_prefix(site)),
    )
    config = api.StreamConfig(
        name=central_stream(site),
        sources=[source],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=CENTRAL_MAX_AGE_S,
        duplicate_window=DUPLICATE_WINDOW_S,
    )
    await ensure_stream(js, config)
    consumer = api.ConsumerConfig(
        durable_name=CENTRAL_CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL,
        ack_wait=ACK_WAIT_S,
        max_ack_pending=1000,
    )
    await js.add_consumer(central_stream(site), consumer)


async def ensure_stream(js: JetStreamContext, config: api.StreamConfig) -> None:
    """The stream `config` names, made if missing (an existing one is left as it is)."""
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        logger.info("nats: stream %s made", config.name)


async def close_quietly(nc: NATS | None) -> None:
    """Close a connection that may be broken already: nothing is left to do if that fails."""
    if nc is not None and not nc.is_closed:
        try:
            await nc.close()
        except Exception:  # closing a broken connection: nothing left to do
            logger.debug("nats: close failed", exc_info=True)


def describe(exc: BaseException) -> str:
    """An error in one line for a status or a log (a TaskGroup's: each of its errors)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    words = tls_words(exc)
    if words is not None:
        return words
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def tls_words(exc: BaseException) -> str | None:
    """A TLS handshake that failed, said with the setting to look at (None: not TLS).

    OpenSSL's own text ("sslv3 alert bad certificate") names neither side: which one
    refused, and which file is wrong, is what an operator needs."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            "TLS: the NATS server's certificate failed our check (NATS_TLS_CA, and the host "
            f"in NATS_URL): certificate verify failed: {exc.verify_message}"
        )
    reason = str(getattr(exc, "reason", None) or exc)
    if isinstance(exc, ssl.SSLError) and "ALERT" in reason and "CERTIFICATE" in reason:
        return (
            "TLS: the NATS server refused our certificate or its absence (NATS_TLS_CERT and "
            f"NATS_TLS_KEY: one its CA signed): {reason}"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {reason}"
    if isinstance(exc, TlsFileError):
        return f"TLS: {exc}"
    return None
