"""Issue "Production operations": a restore drill on the ``large`` set that measures RPO and RTO.

1. `supplytrack serve` runs on the database while one client PATCHes notes back to back.
2. `supplytrack db backup` runs meanwhile (timed). Writes that committed after the backup's
   snapshot are not in it: the most data one backup loses is what was written while it ran
   (and, between backups, the backup interval).
3. Disaster: the server is stopped. `supplytrack db restore` into a new, empty database
   (timed; it checks every table against the manifest), `supplytrack db verify` of the file,
   `supplytrack db upgrade` (nothing to do: same revision), and `serve` on the restored
   database until /readyz is ready and a read answers: RTO is restore + start.
4. The restored database is checked: it holds every row the backup's manifest lists (restore
   itself compared every table's count and checksum).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

from common import (
    WORK,
    Client,
    Row,
    _pg_admin,
    admin_token,
    database_url,
    load,
    parse_args,
    prepare,
    print_table,
    serve,
    supplytrack,
    wait_quiet,
)
from floor import connect


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", default="large", help="demo scale (large: ~400k tasks)")


def _writer(port: int, token: str, ids: list[int], stop: threading.Event, log: list[Any]) -> None:
    client = Client(port, token)
    number = 0
    while not stop.is_set():
        instance = ids[number % len(ids)]
        note = f"drill {number}"
        status, _, _ = client.call("PATCH", f"/api/task-instances/{instance}", {"notes": note})
        log.append((time.monotonic(), status, instance, note))
        number += 1


def backup_under_load(url: str, token: str, target: Path) -> tuple[float, list[Any], float]:
    """Back up while a client writes: seconds, the writes, and when the backup started."""
    connection = connect(url)
    ids = [r[0] for r in connection.execute("SELECT id FROM task_instances LIMIT 200").fetchall()]
    connection.close()
    writes: list[Any] = []
    stop = threading.Event()
    with serve(url, workers=2) as server:
        writer = threading.Thread(target=_writer, args=(server.port, token, ids, stop, writes))
        writer.start()
        while len(writes) < 50:
            time.sleep(0.01)
        started = time.monotonic()
        supplytrack(url, "db", "backup", str(target))
        seconds = time.monotonic() - started
        stop.set()
        writer.join()
    return seconds, writes, started


def restore_and_start(engine: str, token: str, source: Path) -> tuple[str, float, float, float]:
    """Restore into a new database, verify, start: its URL and the three times."""
    restored = database_url("restore_drill_restored", engine)
    if engine == "sqlite":
        Path(restored.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        _pg_admin("DROP DATABASE IF EXISTS bench_restore_drill_restored WITH (FORCE)")
        _pg_admin("CREATE DATABASE bench_restore_drill_restored")
    started = time.monotonic()
    supplytrack(restored, "db", "restore", str(source))
    restore_seconds = time.monotonic() - started
    started = time.monotonic()
    supplytrack(restored, "db", "verify", str(source))
    verify_seconds = time.monotonic() - started
    started = time.monotonic()
    supplytrack(restored, "db", "upgrade", "--no-backup")
    with serve(restored, workers=2) as server:
        client = Client(server.port, token)
        client.json("GET", "/readyz")
        client.json("GET", "/api/task-instances?limit=1")
        start_seconds = time.monotonic() - started
    return restored, restore_seconds, verify_seconds, start_seconds


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    url = prepare("restore_drill", args.engine, args.scale, reuse=args.reuse)
    token = admin_token(url)
    context: dict[str, Any] = {"engine": args.engine, "scale": args.scale}
    context["load before"] = wait_quiet(args.quiet_load)
    backup_file = WORK / f"drill-{args.engine}-{int(time.time())}.bak"
    backup_seconds, writes, backup_started = backup_under_load(url, token, backup_file)
    manifest = json.loads(Path(f"{backup_file}.manifest.json").read_text())
    during = [w for w in writes if w[0] >= backup_started and w[1] == 200]
    restored, restore_seconds, verify_seconds, start_seconds = restore_and_start(
        args.engine, token, backup_file
    )
    connection = connect(restored)
    rows = connection.execute("SELECT count(*) FROM task_instances").fetchone()[0]
    connection.close()
    expected_rows = manifest["tables"]["task_instances"]["rows"]
    context["load after"] = load()
    context["backup file"] = f"{backup_file} ({manifest['file']['bytes'] / 2**20:.0f} MiB)"
    context["checks"] = f"task_instances restored {rows:,} of {expected_rows:,} in the manifest"
    context["commands"] = (
        "serve --workers 2 + 1 client PATCHing; db backup; db restore into an empty database;"
        " db verify; db upgrade; serve until /readyz and a GET answer"
    )
    rate = len(during) / backup_seconds if backup_seconds else 0.0
    print_table(
        f"restore drill ({args.scale} set)",
        [
            Row("backup while writes run", "s", backup_seconds),
            Row("writes committed during the backup (not in it)", "count", float(len(during))),
            Row("write rate during the backup", "writes/s", rate),
            Row("restore into an empty database (checks every table)", "s", restore_seconds),
            Row("verify of the backup file", "s", verify_seconds),
            Row("start on the restored database until it serves", "s", start_seconds),
            Row("RTO: restore + start", "s", restore_seconds + start_seconds),
        ],
        context,
    )
    if rows != expected_rows:
        raise SystemExit("the restored database lost rows")


if __name__ == "__main__":
    main()
