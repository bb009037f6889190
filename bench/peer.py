"""supplytrack beside its Next.js + Prisma peer: list, get and status PATCH on one database.

Both serve ``bench_peer`` (demo ``small`` set unless ``--scale large``) with 2 processes:
``supplytrack serve --workers 2 --no-with-worker`` as ``make serve`` runs it (LOG_LEVEL=info,
metrics on) and /work/shared/peers/next-prisma (``node server.mjs``, WEB_CONCURRENCY=2), built
with npm in a cache directory. The list, its next page and one instance must be the same bytes
from both; then wrk (2 threads, 16 connections) runs list, get and PATCH on each in turn (A B
A B) for ``--rounds`` rounds, and the medians are compared. Reads take random paths; each
PATCH run (peers/patch.lua) gets 2,000 instances of its own, NOT_STARTED first, so that every
request is a real status change; they live in projects added through the API (the demo data
the reads see never changes). The floor of the reads replays their SQL through the bare
driver, as api_read.py does.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import itertools
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from api_read import capture_reads
from common import (
    ROOT,
    WORK,
    Client,
    PeakRss,
    Server,
    _fmt,
    admin_token,
    free_port,
    load,
    need,
    parse_args,
    percentile,
    prepare,
    serve,
    wait_healthy,
    wait_quiet,
)
from floor import concurrent_replay, connect

PEERS = Path("/work/shared/peers")
PEER_SOURCE = PEERS / "next-prisma"
PATCH_LUA = PEERS / "patch.lua"
TARGETS = ("supplytrack", "peer")
LIST = "/api/task-instances?projectId=1&limit=50"
PATCH_IDS = 2000  # per target and round
EXTRA = "BENCH-PEER-"  # code of the projects added for the PATCH runs (not read)
CACHE = Path.home() / ".cache" / "supplytrack-bench" / "next-prisma"  # outside the repository
GOALS = {  # label, throughput target, p99 target (ms)
    "list": ("GET list", ">= 1.5x peer", "<= 25"),
    "get": ("GET one", ">= 1.5x peer", "<= 25"),
    "patch": ("PATCH status", ">= 1.0x peer", "<= 50"),
}
INSTALL_WRK = "apt-get install -y wrk || (apt-get update && apt-get install -y wrk)"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_NOT_COPIED = shutil.ignore_patterns("node_modules", ".next", "generated", "*.tsbuildinfo")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=["small", "large"], default="small")
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--peer-dir", type=Path, default=CACHE, help="the peer's build")


# The peer ------------------------------------------------------------------------------


def build_peer(directory: Path) -> Path:
    """Copy the peer to ``directory``; ``npm ci && npm run build`` there unless up to date."""
    directory = directory.expanduser().resolve()
    if directory.is_relative_to(ROOT):
        sys.exit(f"--peer-dir {directory} is inside the repository; choose a cache directory")
    files = sorted(path for path in PEER_SOURCE.rglob("*") if path.is_file())
    digest = hashlib.sha256(b"".join(bytes(p) + p.read_bytes() for p in files)).hexdigest()
    stamp = directory / ".bench-source"  # the digest of the source that was built
    built = stamp.exists() and (directory / ".next" / "BUILD_ID").exists()
    if built and stamp.read_text() == digest:
        return directory
    print(f"building the peer in {directory} (npm ci && npm run build: about 3 minutes)")
    shutil.copytree(PEER_SOURCE, directory, ignore=_NOT_COPIED, dirs_exist_ok=True)
    for path in [directory, *directory.rglob("*")]:  # the shared copy is read-only
        if "node_modules" not in path.parts:
            path.chmod(path.stat().st_mode | 0o200)
    log = directory / "bench-build.log"
    with log.open("w") as output:
        for command in (["npm", "ci"], ["npm", "run", "build"]):
            done = subprocess.run(command, cwd=directory, stdout=output, stderr=output, check=False)
            if done.returncode:
                sys.exit(f"{' '.join(command)} failed in {directory}:\n{log.read_text()[-3000:]}")
    stamp.write_text(digest)
    return directory


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # the group this script started, and only it


@contextlib.contextmanager
def peer_server(directory: Path, url: str) -> Iterator[int]:
    """The peer (``node server.mjs``, 2 cluster workers) on a free port, until the block ends."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "ACCESS_LOG"}
    env.update(PORT=str(port), HOST="127.0.0.1", DATABASE_URL=url, WEB_CONCURRENCY="2")
    env.update(APP_TIMEZONE=os.environ.get("APP_TIMEZONE", "UTC"), NODE_ENV="production")
    log = WORK / f"peer-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=directory,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(process, port, log, "the peer")
        yield port
    finally:
        _kill_group(process.pid, signal.SIGTERM)  # the primary stops its workers
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        _kill_group(process.pid, signal.SIGKILL)  # whatever is left of the cluster
        process.wait()


@contextlib.contextmanager
def supplytrack_server(url: str) -> Iterator[Server]:
    """``serve`` as make serve runs it (LOG_LEVEL=info); at the end SIGTERM to its group."""
    with serve(url, log_level="info") as server:
        try:
            yield server
        finally:  # the workers too; then serve() waits for its process (SIGKILL after 30 s)
            _kill_group(server.process.pid, signal.SIGTERM)


# Data, checks, load ----------------------------------------------------------------------


def check_same(ports: dict[str, int], token: str) -> str:
    """The list, its next page and one instance from both; a warning for each difference."""
    first = Client(ports["supplytrack"], token).json("GET", LIST)
    paths = [LIST, f"/api/task-instances/{first['items'][0]['id']}"]
    if first["nextCursor"]:
        paths.insert(1, f"{LIST}&cursor={quote(first['nextCursor'])}")
    for path in paths:
        (status_a, body_a), (status_b, body_b) = (
            Client(ports[target], token).call("GET", path)[:2] for target in TARGETS
        )
        if status_a != 200 or status_b != 200 or body_a != body_b:
            sizes = f"supplytrack {status_a}, {len(body_a)} B; peer {status_b}, {len(body_b)} B"
            print(f"WARNING: GET {path} is not the same from both ({sizes})")
    return f"{len(paths)} URLs compared byte for byte (list, its next page, one instance)"


def _added(url: str, statuses: str) -> list[tuple[int, str]]:
    """(id, status) of the instances in ``statuses`` of the projects added for PATCH runs."""
    connection = connect(url)
    rows = connection.execute(
        "SELECT i.id, i.status FROM task_instances i JOIN projects p ON p.id = i.project_id"
        f" WHERE p.code LIKE '{EXTRA}%' AND i.status IN ({statuses})"
    ).fetchall()
    connection.close()
    return [(row[0], row[1]) for row in rows]


def add_project(client: Client, url: str, instances: int) -> None:
    """A project of ``instances`` NOT_STARTED instances (or a few more), through the API."""
    connection = connect(url)
    active = "SELECT id FROM suppliers WHERE status = 'ACTIVE' ORDER BY id LIMIT 40"
    suppliers = [row[0] for row in connection.execute(active)]
    connection.close()
    today = date.today()
    body = {"code": f"{EXTRA}{random.randrange(10**6)}", "name": "peer.py: to PATCH"}
    body |= {"startDate": today.isoformat(), "status": "ACTIVE"}
    body["sopDate"] = (today + timedelta(days=3000)).isoformat()
    project = client.json("POST", "/api/projects", body, expect=201)
    base = f"/api/projects/{project['id']}"
    for supplier in suppliers:
        client.json("POST", f"{base}/suppliers", {"supplierId": supplier}, expect=201)
    for number in range(-(-instances // len(suppliers))):  # each fans out to every supplier
        due = (today + timedelta(days=30 + number)).isoformat()
        body = {"name": f"M{number:04}", "canonicalDue": due}
        client.json("POST", f"{base}/task-templates", body, expect=201)
    print(f"added project {project['id']} ({project['code']}) for the PATCH runs")


def patch_pool(url: str, port: int, token: str, wanted: int) -> list[int]:
    """``wanted`` or more ids PATCH runs can start from (NOT_STARTED first, then BLOCKED).

    They are in projects of their own (added when short), so that the demo projects the
    reads and the check see never change. What earlier runs left IN_PROGRESS is moved on to
    BLOCKED first, with the bulk status update.
    """
    client = Client(port, token)
    left = [row[0] for row in _added(url, "'IN_PROGRESS'")]
    for start in range(0, len(left), 5000):  # BULK_JOB_THRESHOLD: at once, not as a job
        body = {"ids": left[start : start + 5000], "status": "BLOCKED", "reason": "peer.py"}
        client.json("POST", "/api/task-instances/bulk-status-update", body)
    rows = _added(url, "'NOT_STARTED', 'BLOCKED'")
    if len(rows) < wanted:
        add_project(client, url, wanted - len(rows))
        rows = _added(url, "'NOT_STARTED', 'BLOCKED'")
    random.Random(1).shuffle(rows)
    return [row[0] for row in sorted(rows, key=lambda row: row[1] != "NOT_STARTED")]


def versions(url: str, ids: list[int]) -> int:
    """The sum of the instances' versions (one more for every change)."""
    connection = connect(url)
    query = f"SELECT sum(version) FROM task_instances WHERE id IN ({','.join(map(str, ids))})"
    total = int(connection.execute(query).fetchone()[0])
    connection.close()
    return total


def read_script(name: str, paths: list[str]) -> Path:
    """A wrk Lua script that GETs a random one of ``paths`` (seeded per thread)."""
    script = WORK / f"peer-{name}.lua"
    quoted = ",\n".join(f'"{path}"' for path in paths)
    script.write_text(
        f"local paths = {{\n{quoted}\n}}\nlocal threads = 0\n"
        'function setup(thread) threads = threads + 1; thread:set("seed", threads) end\n'
        "function init(args) math.randomseed(os.time() * 100 + seed) end\n"
        'function request() return wrk.format("GET", paths[math.random(#paths)]) end\n'
    )
    return script


class Run(NamedTuple):
    """What one wrk run measured."""

    rps: float
    p99: float  # ms
    failed: int  # answers not 2xx/3xx and socket errors (a timeout: no answer within 2 s)
    answers: int


def wrk(port: int, script: Path, seconds: float, connections: int, token: str, **env: str) -> Run:
    """Requests/s, p99 and failures of ``wrk -t2 -cN --latency -s script`` with the token."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency"]
    command += ["-H", f"Authorization: Bearer {token}", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}"]
    env = {**os.environ, **env}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    answers = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if p99 is None or rps is None or answers is None:
        sys.exit(f"wrk printed no figures:\n{output}")
    failed = sum(  # non-2xx answers, and connect/read/write errors and timeouts
        int(number)
        for line in re.findall(r"(?:Non-2xx or 3xx responses|Socket errors):(.*)", output)
        for number in re.findall(r"\d+", line)
    )
    latency = float(p99.group(1)) * _UNITS[p99.group(2)]
    return Run(float(rps.group(1)), latency, failed, int(answers.group(1)))


def measure(
    url: str,
    ports: dict[str, int],
    token: str,
    scripts: dict[str, Path],
    patch_ids: list[list[int]],
    args: argparse.Namespace,
) -> dict[tuple[str, str], list[Run]]:
    """Run wrk on list, get and PATCH, supplytrack then the peer, for ``--rounds`` rounds."""
    for target in TARGETS:  # warm-up: pools, caches, the JIT
        for name in ("list", "get"):
            wrk(ports[target], scripts[name], 3, args.connections, token)
    runs: dict[tuple[str, str], list[Run]] = {}
    rounds = range(1, args.rounds + 1)
    for number, name, target in itertools.product(rounds, ("list", "get", "patch"), TARGETS):
        env: dict[str, str] = {}
        ids, before = (patch_ids.pop(0) if name == "patch" else []), 0
        if ids:  # patch.lua: the ids from a file, split between wrk's 2 threads
            ids_file = WORK / f"peer-patch-ids-{target}.txt"
            ids_file.write_text("".join(f"{i}\n" for i in ids))
            env = {"TOKEN": token, "PATCH_IDS": str(ids_file), "WRK_THREADS": "2"}
            before = versions(url, ids)
        script = scripts.get(name, PATCH_LUA)
        got = wrk(ports[target], script, args.seconds, args.connections, token, **env)
        runs.setdefault((name, target), []).append(got)
        note = f", NOT 2xx or no answer: {got.failed}" if got.failed else ""
        if ids and (unchanged := got.answers - (versions(url, ids) - before)) > 0:
            note += f", WARNING: at least {unchanged} answers changed nothing"
        line = f"round {number} {name:5} {target:11} {got.rps:8.1f} req/s, p99 {got.p99:7.2f} ms"
        print(line + note, flush=True)
    return runs


# The table ------------------------------------------------------------------------------


def table(
    runs: dict[tuple[str, str], list[Run]], floors: dict[str, tuple[float, list[float]]]
) -> list[tuple[str, ...]]:
    """The rows: the medians of both, their ratio, the floor and the target."""

    def row(
        figure: str, unit: str, values: list[float], floor: float | None, goal: str
    ) -> tuple[str, ...]:
        ours, theirs = values
        cells = [f"{v:,.0f}" if unit == "count" else _fmt(v) for v in values]
        return (figure, unit, *cells, f"{ours / theirs:.2f}x" if theirs else "", _fmt(floor), goal)

    rows = []
    for name, (label, rate, latency) in GOALS.items():
        rps, p99 = (
            [statistics.median(getattr(run, key) for run in runs[name, t]) for t in TARGETS]
            for key in ("rps", "p99")
        )
        per_second, latencies = floors.get(name, (None, []))
        floor_p99 = percentile([s * 1000 for s in latencies], 99) if latencies else None
        rows.append(row(f"{label} throughput", "req/s", rps, per_second, rate))
        rows.append(row(f"{label} p99", "ms", p99, floor_p99, latency))
    for name, (label, _, _) in GOALS.items():
        failed = [float(sum(run.failed for run in runs[name, t])) for t in TARGETS]
        rows.append(row(f"{label}: not 2xx or no answer, all runs", "count", failed, None, "0"))
    return rows


def print_table(title: str, rows: list[tuple[str, ...]], context: dict[str, str]) -> None:
    """The result table, with the run's context (date, engine, load, commands) above it."""
    print(f"\n## {title}")
    for key, value in {"date": datetime.now(UTC).isoformat(timespec="seconds"), **context}.items():
        print(f"- {key}: {value}")
    header = ("figure", "unit", *TARGETS, "ratio (supplytrack/peer)", "floor", "target")
    cells = [header, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _stop(main_pid: int, *_: object) -> None:
    """SIGTERM: exit through the finally blocks (the floor's forked workers: at once)."""
    if os.getpid() != main_pid:
        os._exit(143)
    sys.exit(143)


def main() -> None:
    """Build both, check that they answer alike, measure A B A B, print the table."""
    args = parse_args(__doc__ or "", _options)
    signal.signal(signal.SIGTERM, functools.partial(_stop, os.getpid()))
    need("node", "Node 20 with npm (it runs the peer)")
    if shutil.which("wrk") is None:  # as bench.sh does
        print("wrk is missing: apt-get install -y wrk")
        subprocess.run(INSTALL_WRK, shell=True, capture_output=True, check=False)
    need("wrk", "apt-get update && apt-get install -y wrk")
    peer_dir = build_peer(args.peer_dir)
    url = prepare("peer", args.engine, args.scale, reuse=args.reuse)
    token = admin_token(url)
    connection = connect(url)
    read = f"SELECT id FROM projects WHERE code NOT LIKE '{EXTRA}%'"
    projects = sorted(row[0] for row in connection.execute(read))
    read = f"SELECT id FROM task_instances WHERE project_id IN ({read})"
    every_id = [row[0] for row in connection.execute(read)]
    connection.close()
    sample = random.Random(1).sample(every_id, min(1000, len(every_id)))
    paths = {
        "list": [f"/api/task-instances?projectId={p}&limit=50" for p in projects],
        "get": [f"/api/task-instances/{i}" for i in sample],
    }
    scripts = {name: read_script(name, found) for name, found in paths.items()}
    context = {"engine": args.engine, "data": f"{args.scale} set, {len(every_id):,} instances"}
    with supplytrack_server(url) as server, peer_server(peer_dir, url) as peer_port:
        ports = {"supplytrack": server.port, "peer": peer_port}
        context["same answers"] = check_same(ports, token)
        pool = patch_pool(url, server.port, token, PATCH_IDS * 2 * args.rounds)
        patch_ids = [pool[n * PATCH_IDS : (n + 1) * PATCH_IDS] for n in range(2 * args.rounds)]
        ops = {name: capture_reads(url, token, paths[name]) for name in ("list", "get")}
        context["load before"] = wait_quiet(args.quiet_load)
        floors = {
            name: concurrent_replay(url, found, 2, args.connections // 2, args.seconds)
            for name, found in ops.items()
        }
        with PeakRss(server.process.pid) as memory:
            runs = measure(url, ports, token, scripts, patch_ids, args)
        context["supplytrack RSS, peak per process through every run"] = memory.summary()
        context["load after"] = load()
    context["commands"] = (
        "supplytrack serve --workers 2 --no-with-worker (LOG_LEVEL=info); WEB_CONCURRENCY=2"
        f" DATABASE_URL={url} node server.mjs in {peer_dir}; wrk -t2 -c{args.connections}"
        f" -d{args.seconds:.0f}s --latency, {args.rounds} rounds A B, medians; random paths"
        f" ({len(projects)} projects, {len(sample)} ids); PATCH: {PATCH_LUA}, {PATCH_IDS} ids"
        f" a run; floor: 2 processes x {args.connections // 2} threads"
    )
    title = f"peer: supplytrack beside Next.js + Prisma ({args.scale} set)"
    print_table(title, table(runs, floors), context)


if __name__ == "__main__":
    main()
