"""Every command's help shows an example, and every example works as printed.

The examples run in a sensible order on a fresh SQLite database with the demo data, as a
newcomer would type them after `make serve` (serve and worker are started, seen to be up, and
stopped with SIGTERM).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main
from typer.testing import CliRunner

from supplytrack.cli import app
from supplytrack.cli.export import EXAMPLE as EXPORT_EXAMPLE
from tests.fixtures.database import is_postgres

pytestmark = pytest.mark.skipif(is_postgres(), reason="the examples use the SQLite default")

# The order a newcomer would run them in (each example's leading words name its command).
ORDER = [
    "db upgrade",
    "demo-data",
    "demo-tokens",
    "tokens create",
    "tokens rotate",
    "tokens revoke",
    "tokens list",
    "bulk shift-dates",
    "bulk undo",
    "bulk status",
    "import",
    "cache warm",
    "cache clear",
    "check",
    "audit checkpoint",
    "audit verify",
    "export verify",
    "retention hold",
    "retention holds",
    "retention release",
    "retention plan",
    "retention apply",
    "db current",
    "db backup",
    "db verify",
    "db restore",
    "db downgrade",
    "db roles",
    "serve",
    "worker",
]


def leaf_commands() -> Iterator[tuple[str, Any]]:
    """(name path, command) of every command that does something (not the groups)."""
    pending: list[tuple[str, Any]] = [("", typer.main.get_command(app))]
    while pending:
        path, command = pending.pop()
        children = getattr(command, "commands", None)
        if children:
            pending.extend((f"{path} {name}".strip(), child) for name, child in children.items())
        else:
            yield path, command


def examples() -> dict[str, str]:
    """Each command's example, without the leading ``supplytrack``."""
    found = {}
    for path, command in leaf_commands():
        epilog = command.epilog or ""
        assert epilog.startswith("Example: supplytrack "), f"{path} shows no example"
        found[path] = epilog.removeprefix("Example: supplytrack ")
    return found


def export_example() -> str:
    """The example of `supplytrack export` (a group that works without a subcommand)."""
    return EXPORT_EXAMPLE.removeprefix("Example: supplytrack ")


def test_every_help_page_shows_its_example() -> None:
    runner = CliRunner()
    for path, arguments in examples().items():
        shown = runner.invoke(app, [*path.split(), "--help"], env={"COLUMNS": "250"})
        assert shown.exit_code == 0, shown.output
        assert f"Example: supplytrack {arguments}" in shown.output, path
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "250"})
    assert "Example: supplytrack db upgrade" in top.output
    assert sorted(ORDER) == sorted(examples()), "a new command needs a place in ORDER"


def test_every_example_works_as_printed(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'supplytrack.db'}",
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "json",
        "COLUMNS": "200",
        # As `make serve` sets it (a development key; checkpoints want one).
        "AUDIT_SIGNING_KEY": "dev-only-audit-signing-key-change-me-0000",
    }
    env.pop("REDIS_URL", None)
    found = examples()
    for name in ORDER:
        words = shlex.split(found[name])
        if name == "import":
            _write_history(tmp_path, env)
        if name == "export verify":  # the bundle it checks, as `supplytrack export --help` shows
            made = subprocess.run(
                [sys.executable, "-m", "supplytrack", *shlex.split(export_example())],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
        if name in {"serve", "worker"}:
            _start_and_stop(words, env, tmp_path)
            continue
        done = subprocess.run(
            [sys.executable, "-m", "supplytrack", *words],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{found[name]}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        if name == "db downgrade":
            upgraded = subprocess.run(
                [sys.executable, "-m", "supplytrack", "db", "upgrade"],
                env=env,
                capture_output=True,
                check=False,
            )
            assert upgraded.returncode == 0


def _write_history(workdir: Path, env: dict[str, str]) -> None:
    """history.csv, as the import example names it: one real instance of the demo data."""
    query = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(*c.execute("
        "'SELECT s.code, t.name, i.actual_due FROM task_instances i JOIN suppliers s ON"
        " s.id = i.supplier_id JOIN task_templates t ON t.id = i.task_template_id"
        " WHERE i.project_id = 3 ORDER BY i.id LIMIT 1').fetchone(), sep=',')"
    )
    row = subprocess.run(
        [sys.executable, "-c", query, str(workdir / "supplytrack.db")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    supplier, milestone, due = row.split(",")
    (workdir / "history.csv").write_text(
        "projectCode,supplierCode,templateName,status,actualDue\n"
        f"EDU-2028-A,{supplier},{milestone},IN_PROGRESS,{due}\n",
        encoding="utf-8",
    )
    assert env["DATABASE_URL"].endswith("supplytrack.db")


def _start_and_stop(words: list[str], env: dict[str, str], workdir: Path) -> None:
    """Start a long-running example, see it up, stop it with SIGTERM: it ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "supplytrack", *words],
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        if words[0] == "serve":
            port = words[words.index("--port") + 1]
            _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), process)
        else:
            # The worker says when its signal handlers are in place.
            for line in process.stdout:
                if "worker ready" in line:
                    break
            else:
                pytest.fail("the worker ended before it started")
        os.killpg(process.pid, signal.SIGTERM)
        ended = process.wait(timeout=30)
        if words[0] == "worker":
            assert ended == 0  # it finished its (empty) work and said so
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(check: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the command ended before it was up"
        if check():
            return
        time.sleep(0.1)
    pytest.fail("not up within 30 s")
