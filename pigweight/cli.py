"""`pigweight serve | count | eval | index | demo-video | scale-sim | settings`.

Every user error ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pigweight.errors import PigWeightError
from pigweight.settings import ServerSettings, Settings, SettingsError, load_settings
from pigweight.weighing.scale_protocols import PROTOCOLS

EXIT_USAGE = 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except (CliError, PigWeightError, SettingsError) as exc:
        print(f"pigweight: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pigweight: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pigweight", description="Count piglets on a group scale and record weighings."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="start the web server (settings from env and .env)")
    serve.add_argument("--host", help="bind address (default HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default PORT or 8000)")
    serve.add_argument(
        "--central",
        action="store_true",
        help="be the central service: take the sites of CENTRAL_SITES (sets CENTRAL)",
    )
    serve.set_defaults(func=_cmd_serve)

    from pigweight import cli_users

    cli_users.add_parser(sub)

    from pigweight import cli_db, cli_models, cli_sites, cli_train, cli_worker

    cli_train.add_parser(sub)
    cli_models.add_parser(sub)
    cli_sites.add_parser(sub)
    cli_db.add_parser(sub)
    cli_worker.add_parser(sub)

    count = sub.add_parser("count", help="count the animals in photos and videos")
    count.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _segmenter_options(count)
    count.add_argument("--every", type=float, default=1.0, help="video sampling period, s")
    count.add_argument("--json", action="store_true", help="print one JSON list")
    count.add_argument("--overlay-dir", type=Path, help="write annotated pictures here")
    count.add_argument(
        "--zone",
        metavar="JSON",
        help="platform zone [[x,y],...] in 0-1 of the picture: count only the animals inside",
    )
    count.set_defaults(func=_cmd_count)

    ev = sub.add_parser("eval", help="measure counting accuracy on a labelled folder")
    ev.add_argument(
        "target",
        type=Path,
        metavar="DIR",
        help="folder with images/ and counts.csv, or a demo video with its .truth.json",
    )
    _segmenter_options(ev)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--overlay-dir", type=Path, help="write annotated pictures here")
    ev.add_argument("--frames", type=int, default=0, help="video: at most N frames, evenly spaced")
    ev.add_argument(
        "--held-out",
        action="store_true",
        help="only the images `pigweight train` never trains on (docs/model.md, splits)",
    )
    ev.add_argument(
        "--split-at",
        type=int,
        default=None,
        help="with --held-out: video frames numbered from N on are held out (a farm's own)",
    )
    ev.set_defaults(func=_cmd_eval)

    demo = sub.add_parser("demo-video", help="write a synthetic platform video + ground truth")
    demo.add_argument("out", type=Path, metavar="OUT.mp4")
    demo.add_argument("--seconds", type=float, default=60.0)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--width", type=int, default=1280)
    demo.add_argument("--height", type=int, default=720)
    demo.add_argument("--fps", type=int, default=25)
    demo.set_defaults(func=_cmd_demo_video)

    index = sub.add_parser(
        "index", help="add recordings to the video archive and index them (DATA_DIR)"
    )
    index.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    _segmenter_options(index)
    index.add_argument("--json", action="store_true", help="print one JSON list")
    index.set_defaults(func=_cmd_index)

    sim = sub.add_parser("scale-sim", help="a simulated scale indicator (TCP or a pty)")
    sim.add_argument("--protocol", required=True, choices=PROTOCOLS)
    sim.add_argument("--port", type=int, default=4001, help="TCP port (0: any free one)")
    sim.add_argument("--host", default="127.0.0.1", help="bind address")
    sim.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal instead")
    sim.add_argument("--total-kg", type=float, default=412.5, help="what the group weighs")
    sim.add_argument("--empty-s", type=float, default=5.0)
    sim.add_argument("--loading-s", type=float, default=6.0)
    sim.add_argument("--stable-s", type=float, default=8.0)
    sim.add_argument("--unloading-s", type=float, default=4.0)
    sim.add_argument("--noise-kg", type=float, default=0.1, help="jitter while stable")
    sim.add_argument("--motion-kg", type=float, default=20.0, help="swing while loading")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--rate-hz", type=float, default=10.0, help="frames a second")
    sim.set_defaults(func=_cmd_scale_sim)

    show = sub.add_parser("settings", help="print the effective settings, secrets redacted")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_settings)
    return parser


def _segmenter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--segmenter", choices=["pig", "classic", "yolo_onnx"], help="default SEGMENTER"
    )
    parser.add_argument("--model", type=Path, help="ONNX model file (implies yolo_onnx)")
    parser.add_argument("--conf", type=float, help="confidence threshold (CONF_THRESHOLD)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "model", None) is not None:
        overrides["model_path"] = args.model
        overrides["segmenter"] = args.segmenter or "yolo_onnx"
    elif getattr(args, "segmenter", None):
        overrides["segmenter"] = args.segmenter
    if getattr(args, "conf", None) is not None:
        overrides["conf_threshold"] = args.conf
    return load_settings(**overrides)


def _progress(total: int, desc: str, enabled: bool = True) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, file=sys.stderr)


# --- commands --------------------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    if args.central:
        overrides["central"] = True
    settings = load_settings(**overrides)
    problem = settings.sites.conflict()
    if problem:
        raise CliError(problem)
    _refuse_open_service(settings.server)
    from pigweight.api.http_protocol import HTTP_PROTOCOL
    from pigweight.api.live import WS_PING_INTERVAL_S, WS_PING_TIMEOUT_S
    from pigweight.app import create_app

    print(f"PigWeight: http://{settings.server.host}:{settings.server.port}", file=sys.stderr)
    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_level="info",
        access_log=settings.server.access_log,
        http=HTTP_PROTOCOL,  # its own 400 for a request that is not HTTP is JSON too
        ws_ping_interval=WS_PING_INTERVAL_S,  # a live client that stops reading is dropped
        ws_ping_timeout=WS_PING_TIMEOUT_S,
    )
    return 0


def _refuse_open_service(server: ServerSettings) -> None:
    """The database must open (a wrong DATABASE_URL is one line here, not a traceback from
    the server's start-up); bound beyond this machine with no user, anyone on the network
    could do anything."""
    from pigweight.auth.gate import is_loopback
    from pigweight.auth.users import UserBook
    from pigweight.store.db import open_database

    engine = open_database(server.data_dir, server.database_url)
    try:
        if is_loopback(server.host):
            return
        users = UserBook(engine).count()
    finally:
        engine.dispose()
    if users == 0:
        raise CliError(
            f"HOST={server.host} would open PigWeight to the network with no login: create "
            "the first admin with `pigweight users add NAME --role admin`, then start again "
            "(or keep HOST=127.0.0.1 and reach it through a reverse proxy, docs/operations.md)"
        )


def _cmd_index(args: argparse.Namespace) -> int:
    from pigweight.cli_index import NoVideos, index_paths

    for path in args.paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
    try:
        results = index_paths(args.paths, _settings(args), show_progress=sys.stderr.isatty())
    except NoVideos as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            cut = ", truncated" if r["truncated"] else ""
            print(
                f"{r['path']}: id {r['id']}, {r['duration_s']:.0f} s{cut}, "
                f"{r['samples']} samples, {r['state']}"
            )
    return 0


def _cmd_count(args: argparse.Namespace) -> int:
    from pigweight.cli_count import count_paths
    from pigweight.zones import zone_from_text

    if args.every <= 0:
        raise CliError("--every must be a positive number of seconds")
    zone = zone_from_text(args.zone) if args.zone is not None else None
    settings = _settings(args)
    results, failures = count_paths(
        settings, args.paths, every_s=args.every, overlay_dir=args.overlay_dir, zone=zone
    )
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        for row in results:
            at = f" t={row['t']:.1f}s" if "t" in row else ""
            outside = f", {row['outside']} outside the zone" if "outside" in row else ""
            print(
                f"{row['path']}{at}: {row['count']} (confidence {row['confidence']:.2f}){outside}"
            )
    for message in failures:
        print(f"pigweight: error: {message}", file=sys.stderr)
    return EXIT_USAGE if failures else 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from pigweight.cli_eval import run_eval

    settings = _settings(args)
    report = run_eval(
        settings,
        args.target,
        overlay_dir=args.overlay_dir,
        frames=args.frames,
        held_out=args.held_out,
        split_at=args.split_at,
    )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(report.text())
    return 0


def _cmd_demo_video(args: argparse.Namespace) -> int:
    from pigweight.synthetic import write_demo_video

    if args.seconds <= 0 or args.seconds > 3600:
        raise CliError("--seconds must be between 0 and 3600")
    if args.out.suffix.lower() != ".mp4":
        raise CliError(f"{args.out}: the demo video is an .mp4 file")
    if not args.out.parent.is_dir():
        raise CliError(f"{args.out.parent}: no such folder")
    total = round(args.seconds * args.fps)
    bar = _progress(total, "rendering", sys.stderr.isatty())
    step: Callable[[int, int], None] = lambda done, _total: bar.update(done - bar.n)  # noqa: E731
    try:
        write_demo_video(
            args.out,
            seconds=args.seconds,
            seed=args.seed,
            width=args.width,
            height=args.height,
            fps=args.fps,
            progress=step,
        )
    finally:
        bar.close()
    print(f"wrote {args.out} and its ground truth ({total} frames)", file=sys.stderr)
    return 0


def _cmd_scale_sim(args: argparse.Namespace) -> int:
    from pigweight.cli_scale import run_simulator
    from pigweight.weighing.scale_sim import WeighingCycle

    if not 0 <= args.port < 65536:
        raise CliError("--port must be between 0 and 65535")
    try:
        cycle = WeighingCycle(
            empty_s=args.empty_s,
            loading_s=args.loading_s,
            stable_s=args.stable_s,
            unloading_s=args.unloading_s,
            total_kg=args.total_kg,
            noise_kg=args.noise_kg,
            motion_kg=args.motion_kg,
            seed=args.seed,
        )
        return run_simulator(args.protocol, cycle, args.rate_hz, args.host, args.port, args.pty)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot serve on {args.host}:{args.port}: {exc.strerror}") from None


def _cmd_settings(args: argparse.Namespace) -> int:
    values = load_settings().public_dict()
    if args.json:
        print(json.dumps(values, ensure_ascii=False, default=str))
        return 0
    for name, value in values.items():
        shown = "" if value is None else value
        if isinstance(value, list):
            shown = ",".join(str(v) for v in value)
        print(f"{name.upper()}={shown}")
    return 0
