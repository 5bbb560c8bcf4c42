"""Ask the camera itself before FFmpeg does: OPTIONS, then DESCRIBE, refusing any redirect.

FFmpeg's RTSP client follows a `3xx Location:` to whatever host it names, without the host
rules (camera_policy.py) and still sending the camera's credentials (rtsp.c keeps its
`auth` and `auth_state` across the redirect), and it has no option to refuse one. So before
every open, the camera's thread asks the same questions over its own connection, with the
same timeouts, answering a 401 with Basic or Digest to this host only; a 3xx ends here.
A camera that redirects only on a later connection (between this and FFmpeg's open, or at
SETUP) is not caught: that window stays.
"""

from __future__ import annotations

import errno
import secrets
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from pigweight.media.rtsp_auth import Challenge, authorization, best_challenge

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}  # FFmpeg's RTSP_DEFAULT_PORT, RTSPS_DEFAULT_PORT
MAX_HEAD_BYTES = 64 << 10
MAX_BODY_BYTES = 1 << 20
_POLL_S = 0.1  # how often a wait looks at `interrupted`, as FFmpeg's interrupt callback does


# What a camera's refusal means, whether FFmpeg or the pre-flight heard it.
REFUSALS = {
    401: "the camera refused the user name or password (401): check the credentials",
    403: "the camera forbids this user (403): check its rights",
    404: "the camera has no stream at this path (404): check the URL",
}


class RtspAnswer(Exception):
    """The camera answered something other than 2xx; status 0: the answer was not RTSP."""

    def __init__(self, method: str, status: int, reason: str, location: str = "") -> None:
        super().__init__(f"{method}: {status} {reason}")
        self.method = method
        self.status = status
        self.reason = "".join(ch for ch in reason if ch.isprintable())[:80]
        self.location = location  # the Location header of a 3xx, as the camera sent it

    @property
    def permanent(self) -> bool:
        """The user must change something (the URL, the credentials) before it can work."""
        return self.status in REFUSALS or 300 <= self.status < 400

    def message(self, scheme: str) -> str:
        """What the answer means for a person; no credentials, no path of the redirect."""
        if 300 <= self.status < 400:
            where = redirect_target(self.location, scheme)
            return (
                f"the camera redirects to {where} ({self.status}): refused and not followed, "
                "as FFmpeg would send the camera's password there; if the stream really is "
                "there, put that address in the camera's URL"
            )
        if self.status in REFUSALS:
            return REFUSALS[self.status]
        if self.status == 0:
            return (
                f"the camera's answer is not RTSP ({self.reason}): check that the port is "
                "its RTSP port"
            )
        return f"the camera answered {self.method} with {self.status} {self.reason}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a camera URL leads and with which credentials (decoded, as FFmpeg sends them)."""

    scheme: str
    host: str
    port: int
    request_uri: str  # the URL without user info: what the request line names
    user: str
    password: str

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        return cls(
            scheme,
            parts.hostname or "",
            parts.port or DEFAULT_PORTS.get(scheme, 554),
            f"{scheme}://{hostport}{path}{query}",
            unquote(user),
            unquote(password),
        )


def redirect_target(location: str, scheme: str) -> str:
    """`host:port` of a Location header for a message: never its user info or path."""
    parts = urlsplit(location.strip())
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is no number
        host, port = parts.hostname, None
    if not host:
        return "another path on the same camera"
    host = "".join(ch for ch in host if ch.isprintable())[:100]
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port or DEFAULT_PORTS.get(scheme, 554)}"


@contextmanager
def preflight(
    url: str, open_timeout_s: float, read_timeout_s: float, interrupted: Callable[[], bool]
) -> Iterator[None]:
    """Enter once the camera answers DESCRIBE with 2xx; else raise RtspAnswer or OSError.

    TimeoutError past `open_timeout_s` (or a read past `read_timeout_s`), or as soon as
    `interrupted()` says so; the other OSErrors as the socket raised them. The connection
    stays open until the block ends: open FFmpeg inside it. A server that prepared the
    stream for this DESCRIBE (GStreamer's, relays) tears it down when the client that asked
    leaves, and FFmpeg's DESCRIBE arriving meanwhile would get a 503.
    """
    target = Target.of(url)
    with _Connection.open(target, open_timeout_s, read_timeout_s, interrupted) as connection:
        client = _Client(connection, target)
        client.request("OPTIONS", [])
        client.request("DESCRIBE", ["Accept: application/sdp"])
        yield


@dataclass
class _Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # (lower-case name, value), in order

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


class _Client:
    """Requests on one connection; a 401 is answered once with the camera's credentials."""

    def __init__(self, connection: _Connection, target: Target) -> None:
        self._connection = connection
        self._target = target
        self._cseq = 0
        self._challenge: Challenge | None = None
        self._nc = 0
        self._cnonce = secrets.token_hex(8)

    def request(self, method: str, headers: list[str]) -> None:
        answer = self._send(method, headers)
        if answer.status == 401 and self._challenge is None and self._has_credentials():
            self._challenge = best_challenge(answer.all("www-authenticate"))
            if self._challenge is not None:
                answer = self._send(method, headers)
        if not 200 <= answer.status < 300:
            location = next(iter(answer.all("location")), "")
            raise RtspAnswer(method, answer.status, answer.reason, location)

    def _has_credentials(self) -> bool:
        return bool(self._target.user or self._target.password)

    def _send(self, method: str, headers: list[str]) -> _Answer:
        self._cseq += 1
        lines = [f"{method} {self._target.request_uri} RTSP/1.0", f"CSeq: {self._cseq}"]
        lines += [*headers, "User-Agent: PigWeight"]
        if self._challenge is not None:
            self._nc += 1
            value = authorization(
                self._challenge,
                self._target.user,
                self._target.password,
                method,
                self._target.request_uri,
                self._nc,
                self._cnonce,
            )
            lines.append(f"Authorization: {value}")
        self._connection.send(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        return self._connection.read_answer(method)


class _Connection:
    """A non-blocking socket (TLS for rtsps) whose every wait is bounded and interruptible."""

    def __init__(
        self,
        sock: socket.socket,
        open_deadline: float,
        read_timeout_s: float,
        interrupted: Callable[[], bool],
    ) -> None:
        self._sock = sock
        self._open_deadline = open_deadline
        self._read_timeout_s = read_timeout_s
        self._interrupted = interrupted
        self._buffer = b""

    @classmethod
    def open(
        cls,
        target: Target,
        open_timeout_s: float,
        read_timeout_s: float,
        interrupted: Callable[[], bool],
    ) -> _Connection:
        deadline = time.monotonic() + open_timeout_s
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        error: OSError = ConnectionRefusedError(errno.ECONNREFUSED, "connection refused")
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            connection = cls(sock, deadline, read_timeout_s, interrupted)
            try:
                connection._connect(address)
                if target.scheme == "rtsps":
                    connection._start_tls(target.host)
                return connection
            except (TimeoutError, ssl.SSLError):
                connection.close()
                raise  # the next address would wait as long again
            except OSError as exc:
                connection.close()
                error = exc
        raise error

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self._wait(write=True)
            try:
                view = view[self._sock.send(view) :]
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue

    def read_answer(self, method: str) -> _Answer:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise RtspAnswer(method, 0, "an answer without end")
            self._fill()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        answer = _parse(method, head.decode("utf-8", "replace"))
        length = _content_length(method, answer)
        while len(self._buffer) < length:
            self._fill()
        self._buffer = self._buffer[length:]  # the SDP or an error page: not needed
        return answer

    def _connect(self, address: Any) -> None:  # what getaddrinfo gave, for its family
        self._sock.setblocking(False)
        code = self._sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            raise OSError(code, errno.errorcode.get(code, "connect failed"))
        self._wait(write=True)
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == errno.ECONNREFUSED:
            raise ConnectionRefusedError(code, "connection refused")
        if code:
            raise OSError(code, errno.errorcode.get(code, "connect failed"))

    def _start_tls(self, host: str) -> None:
        # FFmpeg's TLS does not verify the camera's certificate by default (tls_verify=0):
        # asking stricter here would refuse cameras FFmpeg opens.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = context.wrap_socket(self._sock, server_hostname=host, do_handshake_on_connect=False)
        self._sock = tls
        while True:
            try:
                tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                self._wait(write=False)
            except ssl.SSLWantWriteError:
                self._wait(write=True)

    def _fill(self) -> None:
        pending = getattr(self._sock, "pending", None)
        if not (pending and pending()):
            self._wait(write=False)
        try:
            data = self._sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        if not data:
            raise ConnectionResetError(errno.ECONNRESET, "the camera closed the connection")
        self._buffer += data

    def _wait(self, write: bool) -> None:
        """Until the socket is ready; TimeoutError at the deadline or once interrupted."""
        deadline = min(self._open_deadline, time.monotonic() + self._read_timeout_s)
        while True:
            left_s = deadline - time.monotonic()
            if left_s <= 0 or self._interrupted():
                raise TimeoutError(errno.ETIMEDOUT, "no answer in time")
            waiting = ([], [self._sock]) if write else ([self._sock], [])
            ready = select.select(*waiting, [], min(left_s, _POLL_S))
            if ready[0] or ready[1]:
                return


def _parse(method: str, head: str) -> _Answer:
    status_line, *lines = head.lstrip("\r\n").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.upper().startswith("RTSP/") or not code.isdigit():
        raise RtspAnswer(method, 0, "not an RTSP answer")
    headers = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip().lower(), value.strip()))
    return _Answer(int(code), reason.strip(), headers)


def _content_length(method: str, answer: _Answer) -> int:
    text = next(iter(answer.all("content-length")), "0")
    if not text.isdigit() or int(text) > MAX_BODY_BYTES:
        raise RtspAnswer(method, 0, f"a body of {text[:20]!r} bytes")
    return int(text)
