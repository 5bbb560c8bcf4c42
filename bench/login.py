"""Logins: 500 sent at once to a real `pigweight serve`, its memory and its rate limit.

    .venv/bin/python bench/login.py                  # ~1 min here
    .venv/bin/python bench/login.py --logins 200
    .venv/bin/python bench/login.py --server-tree /tmp/old   # another checkout's code

A server with one user starts as a child process with a data folder of its own (like
bench/load.py). Its RSS is read from /proc every 10 ms while this process opens all the
connections first, then writes every request before reading any answer:

- baseline: the same number of `GET /healthz` at once (what the connections alone cost);
- one name: `POST /api/auth/login` for one name from one address, every password wrong but
  the last one written; then the right password once more, alone;
- many addresses: the same number of wrong logins from as many loopback addresses as it
  takes to stay under the per-address limit (all of 127.0.0.0/8 is loopback), two names
  each: the case the per-name limit does not bound, only the one-at-a-time password checks.

Targets (docs/reliability.md, "Access"): RSS growth < 100 MB in each burst, and the right
password locked out like the wrong ones (429) once the limit is reached. Writes
bench/results/login.json with the figures, the targets and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from load import REPO, Server, log, proc_status

from pigweight.auth.users import UserBook
from pigweight.store.db import open_database

RESULTS = REPO / "bench" / "results" / "login.json"
PASSWORD = "correct horse battery"
WRONG = "not the password at all"
RSS_GROWTH_MB = 100.0
MB_KIB = 1024

Request = tuple[str, bytes]  # (client address, the whole HTTP request)


def http_request(port: int, method: str, path: str, body: dict[str, str] | None = None) -> bytes:
    data = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + data


def login(port: int, name: str, password: str) -> bytes:
    return http_request(port, "POST", "/api/auth/login", {"name": name, "password": password})


async def send_all(port: int, requests: list[Request]) -> list[int]:
    """Open every connection, then write every request, then read every answer; the
    statuses in order (0: no answer)."""
    connections = [
        await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        for address, _ in requests
    ]
    for (_, writer), (_, raw) in zip(connections, requests, strict=True):
        writer.write(raw)

    async def status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        try:
            line = await asyncio.wait_for(reader.readline(), 600)
            return int(line.split()[1]) if line else 0
        finally:
            writer.close()

    return await asyncio.gather(*(status(r, w) for r, w in connections))


def while_sampling(pid: int, work: Callable[[], list[int]]) -> tuple[list[int], dict[str, Any]]:
    """work() with the server's RSS read every 10 ms; its statuses and the memory figures."""
    before = [proc_status(pid)["rss_kib"] for _ in range(5)]
    rss: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss.append(proc_status(pid)["rss_kib"])
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        statuses = work()
    finally:
        stop.set()
        sampler.join()
    base = sorted(before)[len(before) // 2] / MB_KIB
    peak = max(rss, default=0) / MB_KIB
    return statuses, {
        "wall_s": round(time.monotonic() - started, 2),
        "rss_before_mb": round(base, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - base, 1),
        "rss_after_mb": round(proc_status(pid)["rss_kib"] / MB_KIB, 1),
        "statuses": dict(sorted(Counter(str(s) for s in statuses).items())),
    }


def burst(server: Server, requests: list[Request]) -> tuple[list[int], dict[str, Any]]:
    return while_sampling(server.pid, lambda: asyncio.run(send_all(server.port, requests)))


def many_addresses(port: int, logins: int) -> list[Request]:
    """`logins` wrong logins, two names from each address: under every rate limit."""
    addresses = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range((logins + 1) // 2)]
    names = ("oleg", "nobody")
    return [(addresses[i // 2], login(port, names[i % 2], WRONG)) for i in range(logins)]


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data = work / "server" / "data"
    engine = open_database(data)
    UserBook(engine).add("oleg", "operator", PASSWORD)
    engine.dispose()
    env = {"PYTHONPATH": str(args.server_tree)} if args.server_tree else {}
    with Server(work / "server", **env) as server:
        port, n = server.port, args.logins
        log(f"baseline: {n} x GET /healthz at once")
        _, baseline = burst(server, [("127.0.0.1", http_request(port, "GET", "/healthz"))] * n)
        log(f"one name: {n} logins at once, the right password last")
        one_name = [("127.0.0.1", login(port, "oleg", WRONG))] * (n - 1)
        statuses, name_burst = burst(
            server, [*one_name, ("127.0.0.1", login(port, "oleg", PASSWORD))]
        )
        name_burst["right_password_in_the_burst"] = statuses[-1]
        (after,) = asyncio.run(send_all(port, [("127.0.0.1", login(port, "oleg", PASSWORD))]))
        name_burst["right_password_after"] = after
        log(f"many addresses: {n} logins at once")
        _, spread_burst = burst(server, many_addresses(port, n))
        tracebacks = server.tracebacks()
    return {
        "logins": n,
        "server_tree": str(args.server_tree or REPO),
        "baseline_healthz": baseline,
        "one_name": name_burst,
        "many_addresses": spread_burst,
        "server_tracebacks": tracebacks,
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for part in ("one_name", "many_addresses"):
        growth = result[part]["rss_growth_mb"]
        found.append(
            {
                "name": f"RSS growth, {part.replace('_', ' ')}",
                "value": growth,
                "target": f"< {RSS_GROWTH_MB:g} MB",
                "met": growth < RSS_GROWTH_MB,
            }
        )
    for when in ("in_the_burst", "after"):
        status = result["one_name"][f"right_password_{when}"]
        found.append(
            {
                "name": f"right password {when.replace('_', ' ')}",
                "value": status,
                "target": "429",
                "met": status == 429,
            }
        )
    return found


def print_summary(result: dict[str, Any]) -> None:
    m = result["machine"]
    base = result["baseline_healthz"]["rss_growth_mb"]
    lines = [
        f"load average {m['loadavg_start']} -> {m['loadavg_end']} ({m['cpu_cores']} cores); "
        f"server code from {result['server_tree']}"
    ]
    for part in ("baseline_healthz", "one_name", "many_addresses"):
        p = result[part]
        ratio = f" (x{p['rss_growth_mb'] / base:.1f} of baseline)" if base > 0 else ""
        lines.append(
            f"{part}: {result['logins']} at once in {p['wall_s']} s, statuses {p['statuses']}; "
            f"RSS {p['rss_before_mb']} -> peak {p['rss_peak_mb']} MB "
            f"(+{p['rss_growth_mb']}){ratio}, after {p['rss_after_mb']} MB"
        )
    name = result["one_name"]
    lines.append(
        f"right password: {name['right_password_in_the_burst']} in the burst (written last), "
        f"{name['right_password_after']} alone after it"
    )
    lines.append("targets:")
    for t in result["targets"]:
        verdict = "met" if t["met"] else "NOT MET"
        lines.append(f"  {t['name']}: {t['value']} (target {t['target']}): {verdict}")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=500, help="requests in each burst")
    parser.add_argument(
        "--server-tree", type=Path, help="run the server from this tree's pigweight package"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--results", type=Path, default=RESULTS, help="the JSON written")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pigweight-login-", dir=args.work))
    result: dict[str, Any] = {
        "machine": {
            "cpu_cores": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
    }
    try:
        result.update(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = targets(result)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    print_summary(result)
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
