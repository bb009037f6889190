"""Issue "Compliance and data integrity": `supplytrack check` over a large data set.

Builds the set with the project's own commands (default `xl`: about 1.1 million instances and
1.8 million history rows), runs `supplytrack check --json` under /usr/bin/time, and prints each
check's time and rows, the whole run's wall time and the process's peak RSS (the checks read
their rows as a stream, so memory should not grow with the data).
"""

from __future__ import annotations

import json
import subprocess
import time

from common import (
    BIN,
    Row,
    env_for,
    parse_args,
    prepare,
    print_table,
    wait_quiet,
)


def main() -> None:
    args = parse_args(
        __doc__ or "",
        lambda parser: parser.add_argument("--scale", default="xl", choices=["large", "xl"]),
    )
    url = prepare(f"checks_{args.scale}", args.engine, args.scale, reuse=args.reuse)
    before = wait_quiet(args.quiet_load)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: PLW1510 - exit 1 means a check failed: shown, not raised
        ["/usr/bin/time", "-f", "%M", str(BIN / "supplytrack"), "check", "--json"],
        env=env_for(url, LOG_LEVEL="error"),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"supplytrack check failed:\n{done.stdout}\n{done.stderr}")
    run = json.loads(done.stdout)
    peak_mib = int(done.stderr.strip().splitlines()[-1]) / 1024
    rows = [
        Row(f"{c['name']} ({c['failures']} rows)", "ms", c["durationMs"]) for c in run["checks"]
    ]
    rows += [
        Row("whole run (process start to exit)", "s", wall, target="minutes (issue)"),
        Row("peak RSS of the process", "MiB", peak_mib, target="flat"),
    ]
    print_table(
        f"supplytrack check on {args.scale}, {args.engine}",
        rows,
        {
            "command": f"bench/data_checks.py --engine {args.engine} --scale {args.scale}",
            "load before": before,
            "outcome": f"{run['state']}: {run['failures']} failures, {run['findings']} findings",
        },
    )


if __name__ == "__main__":
    main()
