"""A camera that redirects is refused: the password never goes to the host it points at.

FFmpeg follows an RTSP `3xx Location:` to any host, past CAMERA_ALLOW_HOSTS, and sends the
camera's credentials there. The redirecting camera here is real (tests/rtsp_redirect_server.py,
on 127.0.0.1, allowed the way an RTSP relay on the same PC is: CAMERA_ALLOW_HOSTS=127.0.0.1);
the host it points at (127.0.0.2) is loopback too, which those rules refuse.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from pigweight.camera_policy import CameraHostRefused, HostPolicy
from pigweight.cameras import CameraConfig
from pigweight.media.rtsp_auth import Challenge, authorization
from pigweight.media.rtsp_preflight import REFUSALS
from pigweight.media.source import FrameSource, SourceState
from pigweight.pipeline.sources import open_camera_source
from tests.conftest import need_system
from tests.planted_secret import PLANTED_ENV, PLANTED_PASSWORD, PLANTED_USER, find_planted
from tests.rtsp_redirect_server import AuthScheme, RedirectingCamera

ALLOW = HostPolicy.from_entries(["127.0.0.1"])  # CAMERA_ALLOW_HOSTS=127.0.0.1


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def tls_context(folder: Path) -> ssl.SSLContext:
    """A server context with a throw-away self-signed certificate (rtsps:// cameras have one)."""
    need_system(shutil.which("openssl") is not None, "openssl (to make a test certificate)")
    key, cert = folder / "camera.key", folder / "camera.crt"
    args = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    args += ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        args,
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def start_camera(camera: RedirectingCamera, scheme: str = "rtsp") -> FrameSource:
    """The camera as an operator configures it: password in password_env, host allowed."""
    config = CameraConfig(
        id="gate",
        url=f"{scheme}://{PLANTED_USER}@127.0.0.1:{camera.port}/cam",
        password_env=PLANTED_ENV,
    )
    source = open_camera_source(config, ALLOW)
    source.start()
    return source


def test_the_host_rules_allow_the_camera_and_refuse_where_it_redirects() -> None:
    ALLOW.check("127.0.0.1")
    with pytest.raises(CameraHostRefused, match="CAMERA_ALLOW_HOSTS"):
        ALLOW.check("127.0.0.2")
    with pytest.raises(CameraHostRefused):
        HostPolicy().check("127.0.0.1")  # without the setting, not even the camera


@pytest.mark.parametrize(
    ("auth", "status", "redirect_on", "scheme"),
    [
        ("basic", 302, "DESCRIBE", "rtsp"),
        ("digest", 302, "DESCRIBE", "rtsp"),
        ("digest", 301, "DESCRIBE", "rtsp"),
        ("none", 307, "OPTIONS", "rtsp"),
        ("basic", 302, "DESCRIBE", "rtsps"),
    ],
)
def test_a_camera_that_redirects_is_refused_and_the_password_stays_home(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    auth: AuthScheme,
    status: int,
    redirect_on: Literal["OPTIONS", "DESCRIBE"],
    scheme: str,
) -> None:
    monkeypatch.setenv(PLANTED_ENV, PLANTED_PASSWORD)
    caplog.set_level(logging.DEBUG)
    tls = tls_context(tmp_path) if scheme == "rtsps" else None
    with RedirectingCamera(
        PLANTED_USER, PLANTED_PASSWORD, auth, status, redirect_on, tls
    ) as camera:
        source = start_camera(camera, scheme)
        try:
            # Two tries: the retry after the backoff is refused as well.
            wait_for(lambda: source.status.reconnects >= 2 or camera.target_connections > 0, 15)
            status_text = repr(source.status)
            last_error = source.status.last_error or ""
            state = source.status.state
        finally:
            source.stop()
        received = camera.target_received()
        target, connections, seen = camera.target, camera.target_connections, camera.seen

    assert connections == 0, (
        f"the redirect was followed: {target} got {connections} connection(s), "
        f"{len(received)} bytes, Authorization header: {b'authorization' in received.lower()}, "
        f"password forms: {len(find_planted(received.decode('latin-1')))}"
    )
    assert "redirect" in last_error and target in last_error, last_error
    assert state is SourceState.ERROR  # the URL must change: a configuration error
    if auth != "none":
        assert any(seen.authorised), seen  # the camera itself got the right credentials
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert find_planted(status_text + logs) == []


@pytest.mark.parametrize("auth", ["basic", "digest"])
def test_wrong_credentials_are_a_401_and_go_nowhere_else(
    monkeypatch: pytest.MonkeyPatch, auth: AuthScheme
) -> None:
    monkeypatch.setenv(PLANTED_ENV, PLANTED_PASSWORD)
    with RedirectingCamera(PLANTED_USER, "another-one", auth) as camera:
        source = start_camera(camera)
        try:
            assert wait_for(lambda: source.status.last_error is not None, 10), source.status
            status = source.status
        finally:
            source.stop()
        assert camera.target_connections == 0
    assert status.last_error == REFUSALS[401]
    assert status.state is SourceState.ERROR


def test_digest_answers_match_rfc_2617() -> None:
    """The worked example of RFC 2617, section 3.5 (qop=auth), and the RFC 2069 form."""
    challenge = Challenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge is not None
    header = authorization(
        challenge, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "0a4f113b"
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header
    assert "qop=auth," in header and "nc=00000001" in header

    legacy = Challenge.parse('Digest realm="testrealm@host.com", nonce="abc"')
    assert legacy is not None
    header = authorization(legacy, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "x")
    assert "qop" not in header and "nc=" not in header


@pytest.mark.parametrize(
    ("header", "scheme"),
    [
        ('Basic realm="cam"', "basic"),
        ('basic realm="cam"', "basic"),
        ('Digest realm="cam", nonce="n1"', "digest"),
        ('DIGEST nonce="n1", realm="cam", algorithm=md5', "digest"),
        ('Digest realm="cam", nonce="n1", algorithm=MD5-sess, qop="auth"', "digest"),
        ('Digest realm="cam", nonce="n1", algorithm=SHA-256', None),  # not what we answer
        ('Bearer realm="cam"', None),
        ("", None),
    ],
)
def test_challenges_are_read_in_any_spelling(header: str, scheme: str | None) -> None:
    challenge = Challenge.parse(header)
    assert (challenge.scheme if challenge else None) == scheme
