"""A live RTSP camera on loopback for the tests: Debian's GStreamer RTSP server.

Run by Debian's /usr/bin/python3 (python3-gi), not the project venv:

    /usr/bin/python3 tests/rtsp_server.py --port 8554 --path /cam [--user U --password P]

It serves a live `videotestsrc` feed encoded with x264 at `rtsp://127.0.0.1:PORT/PATH`, with
HTTP basic authentication when a user is given, and prints `READY` once it listens. A test
stops it with SIGTERM (or SIGKILL to simulate a camera that loses power).
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ROLE = "camera-user"


def pipeline(width: int, height: int, fps: int) -> str:
    """A live test pattern, one key frame a second so a new client starts within 1 s."""
    return (
        f"( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def add_basic_auth(
    server: GstRtspServer.RTSPServer,
    factory: GstRtspServer.RTSPMediaFactory,
    user: str,
    password: str,
) -> None:
    """Only `user:password` may see the stream; anyone else gets 401."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    factory.set_permissions(permissions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(pipeline(args.width, args.height, args.fps))
    factory.set_shared(True)  # one encoder for every client, like a real camera
    if args.user:
        add_basic_auth(server, factory, args.user, args.password)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print("READY", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
