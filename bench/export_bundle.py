"""Issue 13 item 4: the regulatory bundle of a project of 100,000 instances, in flat memory.

Builds, once, a database of its own with one project of 3,300 suppliers x 40 milestones
(about 100,000 instances after the capabilities, with their demo history) and a small one
(the `small` demo set), then runs `supplytrack export --project 1` as a child process on
each: its seconds, the bundle's size and the child's own peak memory (ru_maxrss by wait4),
which must be the same for both (flat); then `export verify` on the big one.

    .venv/bin/python bench/export_bundle.py --engine sqlite
    .venv/bin/python bench/export_bundle.py --engine postgres
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import zipfile
from datetime import date

from common import (
    BIN,
    WORK,
    Row,
    _pg_admin,
    database_url,
    env_for,
    has_data,
    parse_args,
    prepare,
    print_table,
    supplytrack,
)

KEY = "bench-only-audit-signing-key-0000000000"
INSTANCES = 100_000


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-small", action="store_true", help="only the 100,000-instance one")


def _big(engine: str, reuse: bool) -> str:
    """One project of 100,000 instances, loaded with the demo loader's own code."""
    url = database_url("bundle_100k", engine)
    if reuse and has_data(url):
        print(f"reusing {url}")
        return url
    WORK.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        for path in WORK.glob("bench_bundle_100k*.db*"):
            path.unlink()
    else:
        _pg_admin("DROP DATABASE IF EXISTS bench_bundle_100k WITH (FORCE)")
        _pg_admin("CREATE DATABASE bench_bundle_100k")
    supplytrack(url, "db", "upgrade")
    from supplytrack.core.db import Database
    from supplytrack.core.settings import Settings
    from supplytrack.demo.generator import load_demo_data
    from supplytrack.demo.plan import Scale

    started = time.perf_counter()
    database = Database(Settings(database_url=url, redis_url=None, log_level="warning"))
    try:
        one = Scale("bundle", 1, 3_300, (40, 40), (3_300, 3_300), 25_000)
        load_demo_data(database, one, 1, date.today())
    finally:
        database.dispose()
    print(
        f"built {url}: one project of {INSTANCES:,} instances"
        f" in {time.perf_counter() - started:.1f} s"
    )
    return url


def _rows(name: str) -> tuple[int, int]:
    """(instances, history rows) of a bundle, from its manifest."""
    with zipfile.ZipFile(WORK / f"{name}.zip") as bundle:
        files = {f["name"]: f["rows"] for f in json.loads(bundle.read("manifest.json"))["files"]}
    return files["instances.csv"], files["history.csv"]


def _export(url: str, name: str) -> tuple[float, float, float]:
    """Seconds, MB of the bundle and the child's own peak MB of `export --project 1`.

    The peak is that child's alone (wait4), not the largest of every child so far.
    """
    target = WORK / f"{name}.zip"
    started = time.perf_counter()
    with (WORK / f"{name}.log").open("wb") as log:
        child = subprocess.Popen(
            [str(BIN / "supplytrack"), "export", "--project", "1", "--out", str(target)],
            env=env_for(url, AUDIT_SIGNING_KEY=KEY),
            stdout=log,
            stderr=log,
        )
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        sys.exit(f"export failed: see {WORK / f'{name}.log'}")
    return seconds, target.stat().st_size / 2**20, usage.ru_maxrss / 1024


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    rows: list[Row] = []
    context = {"engine": args.engine}
    if not args.skip_small:
        small = prepare("bundle_small", args.engine, "small", reuse=args.reuse)
        seconds, size, peak = _export(small, "bundle-small")
        instances, history = _rows("bundle-small")
        rows += [
            Row(
                f"export, small project ({instances:,} instances, {history:,} history)",
                "s",
                seconds,
            ),
            Row("export, small project, peak memory", "MB", peak),
        ]
    big = _big(args.engine, args.reuse)
    seconds, size, peak = _export(big, "bundle-100k")
    instances, history = _rows("bundle-100k")
    rows += [
        Row(f"export, project of {instances:,} instances, {history:,} history", "s", seconds),
        Row("  its bundle", "MB", size),
        Row("  peak memory", "MB", peak, None, "flat: as the small one"),
    ]
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "supplytrack"), "export", "verify", str(WORK / "bundle-100k.zip")],
        env=env_for(big, AUDIT_SIGNING_KEY=KEY),
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"export verify failed:\n{done.stdout}{done.stderr}")
    rows.append(Row("export verify, that bundle", "s", time.perf_counter() - started))
    print_table("regulatory export bundle", rows, context)


if __name__ == "__main__":
    main()
