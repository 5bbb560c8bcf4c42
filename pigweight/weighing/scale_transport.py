"""The line to the indicator: a serial port (pyserial) or a TCP connection to a
serial-to-Ethernet converter (the converter is the server, PigWeight the client).

Every call returns within `READ_SLICE_S` or the connect timeout, and `open` gives up as
soon as `stop` is set, so the reader thread that owns a transport always sees `stop()`.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time
from typing import Any, Protocol

import serial

from pigweight.weighing.scale_url import ScaleConfig

READ_SLICE_S = 0.2  # one read waits at most this long: bounds how fast stop() is seen


class LineLost(Exception):
    """The line to the indicator is gone (or never came); the message says why."""


class Transport(Protocol):
    """One connection to the indicator at a time; `open` again after `close`."""

    def open(self, stop: threading.Event) -> None: ...

    def read(self) -> bytes:
        """What arrived, waiting up to READ_SLICE_S; b"" when nothing did."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


def open_transport(config: ScaleConfig, connect_timeout_s: float = 5.0) -> Transport:
    if config.transport == "tcp":
        return TcpTransport(config, connect_timeout_s)
    return SerialTransport(config)


class SerialTransport:
    """A serial port: RS-232 or RS-485 through a USB adapter, or a pseudo-terminal."""

    def __init__(self, config: ScaleConfig) -> None:
        self.config = config
        self._port: serial.Serial | None = None

    def open(self, stop: threading.Event) -> None:
        framing = self.config.framing  # "8N1": data bits, parity, stop bits
        try:
            port = serial.Serial(
                self.config.device,
                baudrate=self.config.baud,
                bytesize=int(framing[0]),
                parity=framing[1],
                stopbits=int(framing[2]),
                timeout=READ_SLICE_S,
                write_timeout=READ_SLICE_S,
            )
            port.reset_input_buffer()  # what piled up while nobody read is old news
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LineLost(f"cannot open {self.config.device}: {exc}") from None
        self._port = port

    def read(self) -> bytes:
        port = self._open_port()
        try:
            return bytes(port.read(max(1, port.in_waiting)))
        except (serial.SerialException, OSError) as exc:
            raise LineLost(f"{self.config.device}: {exc}") from None

    def write(self, data: bytes) -> None:
        try:
            self._open_port().write(data)
        except (serial.SerialException, OSError) as exc:
            raise LineLost(f"{self.config.device}: {exc}") from None

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _open_port(self) -> serial.Serial:
        if self._port is None:
            raise LineLost(f"{self.config.device} is closed")
        return self._port


class TcpTransport:
    """A TCP client to a serial-to-Ethernet converter in server mode (or an indicator's
    own Ethernet port); TCP keep-alive notices a converter that vanished."""

    def __init__(self, config: ScaleConfig, connect_timeout_s: float = 5.0) -> None:
        self.config = config
        self.connect_timeout_s = connect_timeout_s
        self._sock: socket.socket | None = None

    def open(self, stop: threading.Event) -> None:
        where = self.config.where
        try:
            infos = socket.getaddrinfo(self.config.host, self.config.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise LineLost(f"cannot resolve {self.config.host}: {exc.strerror}") from None
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            self._connect(sock, address, stop)
        except OSError as exc:
            sock.close()
            raise LineLost(f"cannot connect to {where}: {exc.strerror or exc}") from None
        except BaseException:
            sock.close()
            raise
        sock.settimeout(READ_SLICE_S)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._sock = sock

    def _connect(self, sock: socket.socket, address: Any, stop: threading.Event) -> None:
        """Connect without blocking, so that stop() never waits for a silent host."""
        deadline = time.monotonic() + self.connect_timeout_s
        sock.setblocking(False)
        code = sock.connect_ex(address)
        while code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            _, writable, _ = select.select([], [sock], [], READ_SLICE_S)
            if writable:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            elif stop.is_set():
                raise LineLost("stopped while connecting")
            elif time.monotonic() > deadline:
                raise TimeoutError(f"no answer in {self.connect_timeout_s:g} s")
        if code:
            raise OSError(code, os.strerror(code))

    def read(self) -> bytes:
        sock = self._open_socket()
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise LineLost(f"connection to {self.config.where} lost: {exc.strerror}") from None
        if not data:
            raise LineLost(f"{self.config.where} closed the connection")
        return data

    def write(self, data: bytes) -> None:
        try:
            self._open_socket().sendall(data)
        except OSError as exc:
            raise LineLost(f"connection to {self.config.where} lost: {exc.strerror}") from None

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _open_socket(self) -> socket.socket:
        if self._sock is None:
            raise LineLost(f"not connected to {self.config.where}")
        return self._sock
