"""Mixed load for --seconds with Redis killed halfway: what CRUD and bulk requests answered.

supplytrack serve --workers 2 with REDIS_URL on a redis-server this script starts (and kills;
never the machine's shared one), and one `supplytrack worker`. Client threads send GET list,
GET one, GET of a project (a cached read: Redis holds its value) and PATCH notes back to back;
one more submits a bulk date shift of one project as a job every second (BULK_JOB_THRESHOLD=1,
alternately +1 and -1 day so dates stay valid). Halfway, redis-server gets SIGKILL. Printed:
success rate and p50/p99 of the CRUD requests before and after the kill, what the bulk
submissions were answered, and whether every job committed during the outage ran to its end
exactly once (checked in the jobs table).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from common import (
    BIN,
    WORK,
    Client,
    Row,
    admin_token,
    env_for,
    free_port,
    load,
    need,
    parse_args,
    percentile,
    prepare,
    print_table,
    serve,
    wait_quiet,
)


def _args() -> argparse.Namespace:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--clients", type=int, default=8)

    return parse_args(__doc__ or "", extra)


@contextlib.contextmanager
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this script's own on a free port."""
    binary = need("redis-server", "apt-get install -y redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while (
        subprocess.run(  # noqa: PLW1510 - a probe: its exit code is the answer
            ["redis-cli", "-p", str(port), "ping"], capture_output=True
        ).stdout.strip()
        != b"PONG"
    ):
        if time.monotonic() > deadline:
            sys.exit("own redis-server did not start")
        time.sleep(0.05)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@contextlib.contextmanager
def worker(url: str, redis_url: str) -> Iterator[None]:
    log = (WORK / "outage-worker.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "supplytrack"), "worker"],
        env=env_for(url, REDIS_URL=redis_url, JOB_SWEEP_SECONDS="1"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


class Load:
    """The clients of one run: CRUD threads back to back, one bulk submission a second."""

    def __init__(self, port: int, token: str, seconds: float) -> None:
        self.port, self.token = port, token
        setup = Client(port, token)
        self.projects = [p["id"] for p in setup.json("GET", "/api/projects?limit=50")["items"]]
        page = setup.json("GET", f"/api/task-instances?projectId={self.projects[0]}&limit=500")
        self.ids = [item["id"] for item in page["items"]]
        self.started = time.monotonic()
        self.stop = self.started + seconds
        self.crud: list[tuple[float, str, int, float]] = []  # (at, kind, status, seconds)
        self.bulk: list[tuple[float, int, str]] = []  # (at, status, job id or error code)
        self.lock = threading.Lock()

    def crud_loop(self, number: int) -> None:
        """GET list, GET one, a cached read (projects) or PATCH notes, at random, until the end."""
        chooser = random.Random(number)
        client = Client(self.port, self.token)
        mine = []
        while (now := time.monotonic()) < self.stop:
            kind = chooser.choice(["list", "one", "cached", "patch"])
            path = f"/api/task-instances/{chooser.choice(self.ids)}"
            try:
                if kind == "list":
                    status, _, took = client.call("GET", "/api/task-instances?limit=50")
                elif kind == "one":
                    status, _, took = client.call("GET", path)
                elif kind == "cached":
                    project = chooser.choice(self.projects)
                    status, _, took = client.call("GET", f"/api/projects/{project}")
                else:
                    status, _, took = client.call("PATCH", path, {"notes": f"n{now}"})
            except OSError:
                client = Client(self.port, self.token)
                status, took = 0, 0.0
            mine.append((now - self.started, kind, status, took))
        with self.lock:
            self.crud.extend(mine)

    def bulk_loop(self) -> None:
        """A date shift of the last project a second, +1 and -1 day in turn."""
        client = Client(self.port, self.token)
        sign = 1
        next_at = time.monotonic()
        path = f"/api/projects/{self.projects[-1]}/bulk-update-dates"
        while (now := time.monotonic()) < self.stop:
            if now < next_at:
                time.sleep(min(0.05, next_at - now))
                continue
            next_at += 1.0
            body = {"shiftDays": sign, "reasonCode": "PLAN_CHANGE"}
            status, payload, _ = client.call("POST", path, body)
            answer = json.loads(payload or b"{}")
            what = str(answer.get("jobId") or answer.get("error", {}).get("code", "?"))
            self.bulk.append((now - self.started, status, what))
            if status in (200, 202):
                sign = -sign

    def run(self, clients: int, kill: subprocess.Popen[bytes], kill_after: float) -> float:
        """Run the clients; SIGKILL ``kill`` after ``kill_after`` s; when it was killed."""
        threads = [threading.Thread(target=self.crud_loop, args=(n,)) for n in range(clients)]
        threads.append(threading.Thread(target=self.bulk_loop))
        for thread in threads:
            thread.start()
        while time.monotonic() < self.started + kill_after:
            time.sleep(0.05)
        kill.kill()
        killed = time.monotonic() - self.started
        for thread in threads:
            thread.join()
        return killed


def main() -> None:
    args = _args()
    need("redis-cli", "apt-get install -y redis-tools")
    url = prepare("redis_outage", args.engine, "small", reuse=args.reuse)
    token = admin_token(url)
    before_load = wait_quiet(args.quiet_load)
    seconds: float = args.seconds
    served = {"BULK_JOB_THRESHOLD": "1"}
    with (
        own_redis() as (redis_url, redis_process),
        worker(url, redis_url),
        serve(url, REDIS_URL=redis_url, **served) as server,
    ):
        run = Load(server.port, token, seconds)
        killed = run.run(args.clients, redis_process, seconds / 2)
        accepted = [what for _, status, what in run.bulk if status == 202]
        jobs = _jobs_after(Client(server.port, token), accepted)
    print_table(
        "redis_outage: mixed load, Redis killed halfway",
        _rows(run.crud, run.bulk, killed, jobs),
        {
            "engine": args.engine,
            "load before": before_load,
            "load after": load(),
            "commands": f"serve --workers 2 + worker, REDIS_URL=own redis-server;"
            f" {args.clients} CRUD clients back to back + 1 bulk submission a second;"
            f" redis-server SIGKILLed at {killed:.1f} s of {seconds:.0f} s",
            "bulk answers": ", ".join(
                f"{k}: {v}" for k, v in Counter(_bulk_kinds(run.bulk, killed)).items()
            ),
        },
    )


def _bulk_kinds(bulk: list[tuple[float, int, str]], killed: float) -> list[str]:
    return [f"{'after' if at >= killed else 'before'} kill {status}" for at, status, _ in bulk]


def _jobs_after(client: Client, job_ids: list[str]) -> dict[str, str]:
    """Each accepted job's state (SUCCEEDED: every row processed).

    Polled until none is QUEUED or RUNNING (2 minutes at most).
    """
    deadline = time.monotonic() + 120
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {}
        for job in job_ids:
            seen = client.json("GET", f"/api/jobs/{job}")
            done = seen["state"] == "SUCCEEDED" and seen["processed"] == seen["total"]
            states[job] = "SUCCEEDED" if done else seen["state"]
        if not {"QUEUED", "RUNNING"} & set(states.values()):
            break
        time.sleep(0.5)
    return states


def _rows(
    crud: list[tuple[float, str, int, float]],
    bulk: list[tuple[float, int, str]],
    killed: float,
    jobs: dict[str, str],
) -> list[Row]:
    rows = []
    for label, part in (
        ("before the kill", [c for c in crud if c[0] < killed]),
        ("after the kill", [c for c in crud if c[0] >= killed]),
    ):
        ok = [c for c in part if 200 <= c[2] < 300]
        rows.append(Row(f"CRUD {label}: requests", "count", len(part)))
        rows.append(
            Row(
                f"CRUD {label}: 2xx", "%", 100 * len(ok) / len(part) if part else None, target="100"
            )
        )
        rows.append(
            Row(
                f"CRUD {label}: 5xx or no answer",
                "count",
                sum(1 for c in part if c[2] >= 500 or c[2] == 0),
                target="0",
            )
        )
        times = [c[3] * 1000 for c in ok]
        rows.append(Row(f"CRUD {label}: p50", "ms", percentile(times, 50)))
        rows.append(Row(f"CRUD {label}: p99", "ms", percentile(times, 99)))
    after = [b for b in bulk if b[0] >= killed]
    rows.append(Row("bulk submissions after the kill", "count", len(after)))
    rows.append(Row("bulk after the kill: 202", "count", sum(1 for b in after if b[1] == 202)))
    rows.append(
        Row("bulk after the kill: 5xx", "count", sum(1 for b in after if b[1] >= 500), target="0")
    )
    rows.append(
        Row(
            "accepted jobs SUCCEEDED at the end",
            "count",
            sum(1 for s in jobs.values() if s == "SUCCEEDED"),
        )
    )
    rows.append(
        Row(
            "accepted jobs not SUCCEEDED",
            "count",
            sum(1 for s in jobs.values() if s != "SUCCEEDED"),
            target="0",
        )
    )
    return rows


if __name__ == "__main__":
    if shutil.which("redis-server") is None:
        sys.exit("this benchmark needs redis-server")
    Path(WORK).mkdir(parents=True, exist_ok=True)
    main()
