"""The README's tour, command by command, against a server set up as `make serve` sets it up.

Each curl of the tour ends in a comment that starts with the HTTP status it answers; the tour
runs in bash with the URL and the manager token that `supplytrack demo-tokens` printed, and
every status must be the one its comment promises.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.core.helpers import free_port
from tests.fixtures.database import is_postgres

ROOT = Path(__file__).resolve().parents[1]
SUPPLYTRACK = [sys.executable, "-m", "supplytrack"]
pytestmark = pytest.mark.skipif(is_postgres(), reason="make serve runs on its SQLite default")


def tour_commands() -> list[str]:
    """The shell commands of the README's tour, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A short tour", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands, pending = [], ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def expected_statuses(commands: list[str]) -> list[int]:
    """The status each curl's trailing comment promises, in order."""
    statuses = []
    for command in commands:
        if "curl" not in command:
            continue
        promised = re.search(r"#\s*(\d{3})\b", command)
        assert promised, f"a tour command says nothing of its answer: {command}"
        statuses.append(int(promised.group(1)))
    return statuses


class Served:
    """A make-serve-style server: migrated SQLite file, demo data, demo tokens, serve."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'supplytrack.db'}",
            "LOG_LEVEL": "warning",
            "COLUMNS": "200",
        }
        self.env.pop("REDIS_URL", None)
        for step in (
            ["db", "upgrade"],
            ["demo-data", "--scale", "small", "--seed", "1", "--if-empty"],
        ):
            subprocess.run([*SUPPLYTRACK, *step], env=self.env, check=True, capture_output=True)
        printed = subprocess.run(
            [*SUPPLYTRACK, "demo-tokens", "--url", self.base],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.printed = printed
        self.manager = re.search(r"^\s*manager\s+(st_\S+)", printed, re.MULTILINE)
        self.process = subprocess.Popen(
            [*SUPPLYTRACK, "serve", "--port", str(self.port)],
            env=self.env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail("the server did not answer /healthz within 30 s")

    def stop(self) -> None:
        """Stop the server and its job worker (one process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path)
    yield server
    server.stop()


def test_demo_tokens_print_every_role_with_its_use_and_a_call_to_paste(served: Served) -> None:
    assert served.manager, served.printed
    for role in ("manager", "admin", "viewer", "supplier"):
        assert re.search(rf"^\s*{role}\s+st_\S+\s+\S", served.printed, re.MULTILINE), role
    assert f"export BASE={served.base} TOKEN={served.manager.group(1)}" in served.printed
    assert f"{served.base}/docs" in served.printed


def test_every_command_of_the_tour_answers_what_the_readme_says(
    served: Served, tmp_path: Path
) -> None:
    commands = tour_commands()
    assert commands[0].startswith("export BASE=")
    assert served.manager, served.printed
    script = "\n".join(
        [
            "set -euo pipefail",
            # Every curl also writes its status to stderr, where the test reads them in order.
            "curl() { command curl -w '%{stderr}@@%{http_code}@@\\n' \"$@\"; }",
            f"export BASE={served.base} TOKEN={served.manager.group(1)}",
            *commands[1:],
        ]
    )
    result = subprocess.run(
        ["bash", "-c", script],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answered = [int(code) for code in re.findall(r"@@(\d{3})@@", result.stderr)]
    assert answered == expected_statuses(commands), result.stdout[-2000:]
    assert (tmp_path / "status.xlsx").read_bytes()[:2] == b"PK"  # a real workbook
