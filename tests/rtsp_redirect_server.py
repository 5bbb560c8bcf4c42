"""An RTSP camera on 127.0.0.1 that redirects, and the host it redirects to on 127.0.0.2.

The camera answers OPTIONS (or redirects it), asks for credentials on DESCRIBE with Basic
or Digest (RFC 2617, MD5, qop=auth) and, given the right ones, answers `3xx Location:
rtsp://127.0.0.2:PORT/stream`. The second host says nothing and remembers every byte and
every connection it gets: where a client follows the redirect, it is seen there. What the
servers receive stays in memory (the run's file scan must not find the planted password).
With a TLS context the camera speaks rtsps:// (the target still records the raw bytes).
"""

from __future__ import annotations

import base64
import hashlib
import re
import select
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Literal

AuthScheme = Literal["basic", "digest", "none"]
REALM = "redirecting-camera"
NONCE = "5f1c2d3e4a5b6c7d"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass
class Seen:
    """What the redirecting camera was asked: each request line and whether it was authorised."""

    requests: list[str] = field(default_factory=list)
    authorised: list[bool] = field(default_factory=list)


class RedirectingCamera:
    """Server 1 (the camera, 127.0.0.1) and server 2 (the redirect target, 127.0.0.2)."""

    def __init__(
        self,
        user: str,
        password: str,
        auth: AuthScheme = "basic",
        status: int = 302,
        redirect_on: Literal["OPTIONS", "DESCRIBE"] = "DESCRIBE",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.user, self.password, self.auth, self.tls = user, password, auth, tls
        self.status, self.redirect_on = status, redirect_on
        self.seen = Seen()
        self.target_bytes = bytearray()
        self.target_connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._camera = _listen("127.0.0.1")
        self._target = _listen("127.0.0.2")
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._camera.getsockname()[1])

    @property
    def target(self) -> str:
        host, port = self._target.getsockname()[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RedirectingCamera:
        self._spawn(self._accept, self._camera, self._serve_camera)
        self._spawn(self._accept, self._target, self._record_target)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._camera.close()
        self._target.close()

    def target_received(self) -> bytes:
        with self._lock:
            return bytes(self.target_bytes)

    # -- the two servers -----------------------------------------------------------------

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self, listener: socket.socket, serve: object) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.05)
            if ready:
                conn, _ = listener.accept()
                self._spawn(serve, conn)

    def _record_target(self, conn: socket.socket) -> None:
        with self._lock:
            self.target_connections += 1
        with conn:
            while not self._stop.is_set():
                ready, _, _ = select.select([conn], [], [], 0.05)
                if not ready:
                    continue
                data = conn.recv(65536)
                if not data:
                    return
                with self._lock:
                    self.target_bytes += data

    def _serve_camera(self, conn: socket.socket) -> None:
        buffer = b""
        if self.tls is not None:
            conn.settimeout(5)
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                return
        with conn:
            while not self._stop.is_set():
                pending = isinstance(conn, ssl.SSLSocket) and conn.pending()
                ready, _, _ = select.select([conn], [], [], 0.05)
                if not (ready or pending):
                    continue
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    conn.sendall(self._answer(head.decode("utf-8", "replace")))

    def _answer(self, head: str) -> bytes:
        lines = head.split("\r\n")
        method = lines[0].split(" ", 1)[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        authorised = self._authorised(method, headers.get("authorization", ""))
        with self._lock:
            self.seen.requests.append(lines[0])
            self.seen.authorised.append(authorised)
        cseq = headers.get("cseq", "0")
        if method == self.redirect_on and (authorised or self.auth == "none"):
            location = f"rtsp://{self.target}/stream"
            return _reply(self.status, "Moved", cseq, [f"Location: {location}"])
        if method == "OPTIONS":
            return _reply(200, "OK", cseq, ["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"])
        if method == "DESCRIBE" and not authorised:
            return _reply(401, "Unauthorized", cseq, [f"WWW-Authenticate: {self._challenge()}"])
        return _reply(454, "Session Not Found", cseq, [])

    def _challenge(self) -> str:
        if self.auth == "digest":
            return f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", algorithm=MD5'
        return f'Basic realm="{REALM}"'

    def _authorised(self, method: str, header: str) -> bool:
        scheme, _, rest = header.partition(" ")
        if self.auth == "basic" and scheme.lower() == "basic":
            expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return rest.strip() == expected
        if self.auth == "digest" and scheme.lower() == "digest":
            params = {m[1].lower(): m[2] or m[3] for m in _PARAM.finditer(rest)}
            ha1 = md5_hex(f"{self.user}:{REALM}:{self.password}")
            ha2 = md5_hex(f"{method}:{params.get('uri', '')}")
            parts = (params.get(k, "") for k in ("nc", "cnonce", "qop"))
            expected = md5_hex(":".join((ha1, NONCE, *parts, ha2)))
            return params.get("username") == self.user and params.get("response") == expected
        return False


def _listen(host: str) -> socket.socket:
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen(8)
    return listener


def _reply(status: int, reason: str, cseq: str, headers: list[str]) -> bytes:
    lines = [f"RTSP/1.0 {status} {reason}", f"CSeq: {cseq}", *headers, "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
