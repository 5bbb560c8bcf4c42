"""Crash test of the weighing records: SIGKILL the server while records are posted.

    python bench/kill_records.py --kills 200            # RELIABILITY.md's figure
    python bench/kill_records.py --kills 30 --seed 3    # what `make test` runs

Starts `pigweight serve` as a child process (its own data folder, no camera running),
posts weighings from several client threads, each with its own Idempotency-Key, and kills
the server with SIGKILL at a random moment. A request that got no answer is retried with
the same key after the restart, as a scale terminal would. After every restart it checks,
reading the SQLite file and the CSV files directly:

- every acknowledged record is in the database exactly once, with what was sent;
- `PRAGMA integrity_check` says ok;
- the daily CSV lines are exactly the database's records, each once, whole.

Prints progress and a summary, writes bench/results/kill_records.json; exit 1 on a loss.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "kill_records.json"
CAMERA = "scale1"
CLIENTS = 4


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> body
    acked: dict[str, int] = field(default_factory=dict)  # key -> record id
    pending: set[str] = field(default_factory=set)  # sent, no answer yet
    replayed: int = 0  # retries the server had already written (killed before answering)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_n: int = 0

    def new_request(self) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.next_n += 1
            n = self.next_n
        key = f"k{n:06d}"
        body = {"camera_id": CAMERA, "total_weight_kg": 100 + n % 500, "count": 10 + n % 40}
        body["note"] = f"weighing {n}"
        with self.lock:
            self.sent[key] = body
            self.pending.add(key)
        return key, body

    def ack(self, key: str, record_id: int) -> None:
        with self.lock:
            previous = self.acked.setdefault(key, record_id)
            self.pending.discard(key)
        if previous != record_id:
            raise AssertionError(f"{key} acknowledged as {previous} and as {record_id}")


class Server:
    """`pigweight serve` in a folder of its own; start, kill, restart."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        (root / "cameras.yaml").write_text(
            f"cameras:\n  - {{id: {CAMERA}, url: 'rtsp://127.0.0.1:9/scale', enabled: false}}\n"
        )
        self.log = (root / "server.log").open("ab")

    def start(self, timeout_s: float = 60.0) -> float:
        env = {
            **os.environ,
            "PORT": str(self.port),
            "DATA_DIR": str(self.root / "data"),
            "RECORDS_DIR": str(self.root / "records"),
            "LOG_DIR": str(self.root / "logs"),
            "CAMERAS_FILE": str(self.root / "cameras.yaml"),
            "CAMERA_ALLOW_HOSTS": "127.0.0.1",  # the (disabled) camera is on this PC
            "AUTO_START_CAM": "false",
            "PRELOAD_MODEL": "false",
        }
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pigweight", "serve"],
            cwd=self.root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - started < timeout_s:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"server exited with {code}; see {self.log.name}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout_s} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(client: httpx.Client, ledger: Ledger, key: str, body: dict[str, Any]) -> bool:
    """Send one weighing; True when acknowledged, False when the server went away."""
    try:
        r = client.post("/api/weight/average", json=body, headers={"Idempotency-Key": key})
    except httpx.HTTPError:
        return False
    if r.status_code not in (200, 201):
        raise AssertionError(f"{key}: {r.status_code} {r.text}")
    ledger.ack(key, int(r.json()["id"]))
    if r.status_code == 200:
        with ledger.lock:
            ledger.replayed += 1
    return True


def clients_until_dead(server: Server, ledger: Ledger) -> None:
    """CLIENTS threads posting as fast as they can until the server dies."""

    def run() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while True:
                key, body = ledger.new_request()
                if not post(client, ledger, key, body):
                    return

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def retry_pending(server: Server, ledger: Ledger) -> int:
    """Resend every unanswered request with its key, as a client does after an outage."""
    with ledger.lock:
        pending = sorted(ledger.pending)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for key in pending:
            if not post(client, ledger, key, ledger.sent[key]):
                raise AssertionError(f"{key}: no answer from a running server")
    return len(pending)


def check(root: Path, ledger: Ledger) -> list[str]:
    """Problems found in the database and the CSV files (empty: all is well)."""
    problems: list[str] = []
    db = sqlite3.connect(root / "data" / "pigweight.sqlite3")
    try:
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("PRAGMA integrity_check is not ok")
        rows = db.execute(
            "SELECT id, idempotency_key, total_weight_kg, count, note FROM weight_records"
        ).fetchall()
    finally:
        db.close()
    by_key = Counter(key for _, key, *_ in rows)
    db_ids = {row[0] for row in rows}
    for key, record_id in ledger.acked.items():
        if by_key[key] != 1:
            problems.append(f"{key} (record {record_id}) is in the database {by_key[key]} times")
    for record_id, key, total, count, note in rows:
        body = ledger.sent.get(key)
        if body is None or (total, count, note) != (
            body["total_weight_kg"],
            body["count"],
            body["note"],
        ):
            problems.append(f"record {record_id} does not match what was sent: {body}")
    csv_ids: Counter[int] = Counter()
    for path in sorted((root / "records").glob("weight_avg_*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            for line in csv.DictReader(f):
                csv_ids[int(line["record_id"])] += 1
    if set(csv_ids) != db_ids:
        problems.append(
            f"CSV and database differ: {len(set(csv_ids) - db_ids)} lines not in the database, "
            f"{len(db_ids - set(csv_ids))} records without a line"
        )
    problems += [f"record {i} is {n} times in the CSV" for i, n in csv_ids.items() if n > 1]
    return problems


def run_kills(kills: int, seed: int, root: Path, progress: bool = True) -> dict[str, Any]:
    """Kill and restart the server `kills` times; the report of what held."""
    rng = random.Random(seed)
    server = Server(root)
    ledger = Ledger()
    problems: list[str] = []
    start_s: list[float] = []
    retried = 0
    try:
        start_s.append(server.start())
        for kill in range(1, kills + 1):
            posting = threading.Thread(target=clients_until_dead, args=(server, ledger))
            posting.start()
            time.sleep(rng.uniform(0.02, 0.5))
            server.kill()
            posting.join()
            start_s.append(server.start())
            retried += retry_pending(server, ledger)
            found = check(root, ledger)
            problems += [f"after kill {kill}: {p}" for p in found]
            if progress:
                print(
                    f"\rkill {kill}/{kills}: {len(ledger.acked)} acknowledged, "
                    f"{retried} retried, {len(problems)} problems",
                    end="",
                    flush=True,
                )
            if found:
                break
    finally:
        server.stop()
    if progress:
        print()
    return {
        "kills": kills,
        "seed": seed,
        "acknowledged": len(ledger.acked),
        "retried_after_restart": retried,
        "retried_already_written": ledger.replayed,
        "csv_rebuilt_at_start": _count_in(root / "server.log", b"rebuilt from the database"),
        "restart_s_median": sorted(start_s)[len(start_s) // 2],
        "problems": problems,
    }


def _count_in(path: Path, needle: bytes) -> int:
    return path.read_bytes().count(needle) if path.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pigweight-kill-") as tmp:
        started = time.monotonic()
        report = run_kills(args.kills, args.seed, Path(tmp))
        report["wall_s"] = round(time.monotonic() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
