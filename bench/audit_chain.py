"""Issue 13 item 2: what the hash chains cost a PATCH, and how `audit verify` scales.

One demo database (`--scale small`, or large/xl) of the bench's own (never the service's).
The same server (`serve --workers 2`) takes PATCHes of notes on random instances under wrk,
in alternating rounds with the history's chain trigger in place and dropped (the chain is
then broken for the rows written meanwhile; this is a scratch database). Then
`supplytrack audit verify --json` over the whole database: its seconds and its peak memory
(ru_maxrss of that child alone, by wait4), which must stay flat from small to xl.

    .venv/bin/python bench/audit_chain.py --engine postgres --scale small
    .venv/bin/python bench/audit_chain.py --engine sqlite --scale small
    .venv/bin/python bench/audit_chain.py --engine postgres --scale xl --verify-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import (
    BIN,
    WORK,
    Row,
    admin_token,
    env_for,
    need,
    parse_args,
    prepare,
    print_table,
    serve,
    wait_quiet,
)
from floor import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "migrations" / "versions"))

_HISTORY = "task_instance_history"


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", default="small", choices=["small", "large", "xl"])
    parser.add_argument("--seconds", type=float, default=20.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with and without")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--verify-only", action="store_true", help="only time audit verify")


def _set_chain(url: str, on: bool) -> None:
    """Put the history's chain trigger in place, or take it away (this database only)."""
    connection = connect(url)
    try:
        if url.startswith("sqlite"):
            from importlib import import_module

            from supplytrack.core import chain

            migration = import_module("20261202_audit_chain")
            connection.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_chain")
            if on:
                connection.execute(migration.sqlite_chain_trigger(chain.HISTORY))
        else:
            verb = "ENABLE" if on else "DISABLE"
            connection.execute(f"ALTER TABLE {_HISTORY} {verb} TRIGGER {_HISTORY}_chain")
            connection.commit()
    finally:
        connection.close()


def _patch_script(url: str, token: str) -> Path:
    connection = connect(url)
    ids = [row[0] for row in connection.execute("SELECT id FROM task_instances LIMIT 5000")]
    connection.close()
    script = WORK / "audit-chain-patch.lua"
    listed = ", ".join(str(value) for value in ids)
    script.write_text(
        f"local ids = {{{listed}}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local body = '{\"notes\": \"bench ' .. n .. '\"}'\n"
        '  return wrk.format("PATCH", "/api/task-instances/" .. ids[math.random(#ids)],'
        f' {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}},'
        " body)\n"
        "end\n"
    )
    return script


def _wrk(port: int, token: str, script: Path, seconds: float, connections: int) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s"]
    # The script's own headers replace -H ones in wrk.format(): the token is in the script.
    command += ["-s", str(script)]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True
    ).stdout
    rate = float(output.split("Requests/sec:")[1].split()[0])
    if "Non-2xx" in output:
        # A rate of refusals measures nothing: stop rather than print a figure.
        raise SystemExit(f"PATCHes were refused:\n{output}")
    return rate


def _verify(url: str) -> tuple[float, float, dict[str, object]]:
    """Seconds, peak MB and the report of `audit verify --json` (that child's own, by wait4)."""
    started = time.perf_counter()
    out = WORK / "audit-verify.json"
    with out.open("wb") as sink, (WORK / "audit-verify.log").open("wb") as log:
        child = subprocess.Popen(
            [str(BIN / "supplytrack"), "audit", "verify", "--json"],
            env=env_for(url),
            stdout=sink,
            stderr=log,
        )
        _, _, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    text = out.read_text()
    report = json.loads(text) if text.strip().startswith("{") else {}
    return seconds, usage.ru_maxrss / 1024, report


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    need("wrk", "apt-get install wrk")
    url = prepare(f"chain_{args.scale}", args.engine, args.scale, reuse=args.reuse)
    rows: list[Row] = []
    context = {"scale": args.scale, "engine": args.engine, "load": wait_quiet(args.quiet_load)}
    if not args.verify_only:
        token = admin_token(url)
        script = _patch_script(url, token)
        rates: dict[bool, list[float]] = {True: [], False: []}
        with serve(url, RATE_LIMIT_DEFAULT="off") as server:
            for _ in range(args.rounds):
                for on in (True, False):
                    _set_chain(url, on)
                    rates[on].append(
                        _wrk(server.port, token, script, args.seconds, args.connections)
                    )
        _set_chain(url, True)
        best = {on: max(values) for on, values in rates.items()}
        rows += [
            Row("PATCH notes, chain trigger in place", "req/s", best[True], best[False], "", True),
            Row("PATCH notes, no chain trigger", "req/s", best[False]),
        ]
        print(f"rounds: with {rates[True]}, without {rates[False]}")
    seconds, peak, report = _verify(url)
    tables = report.get("tables", [])
    counted = sum(int(table["rows"]) for table in tables) if isinstance(tables, list) else 0
    rows += [
        Row(f"audit verify, {counted} rows", "s", seconds, None, "minutes at xl"),
        Row("audit verify, peak memory", "MB", peak, None, "flat from small to xl"),
    ]
    print_table("audit hash chains", rows, context)


if __name__ == "__main__":
    main()
