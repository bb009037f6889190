"""Fixtures of the web app's tests: a signed-in TestClient, and a real server with a browser.

The browser tests drive Debian's Chromium (/usr/bin/chromium, or CHROMIUM) through Playwright
by its executable path: nothing is downloaded. Screenshots go to build/screenshots/ (or
SCREENSHOT_DIR), one PNG per page and viewport, for people to look at.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.core.helpers import free_port
from tests.fixtures.auth import Caller
from tests.fixtures.database import DatabaseFactory, is_postgres

ROOT = Path(__file__).resolve().parents[2]
SUPPLYTRACK = [sys.executable, "-m", "supplytrack"]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
SESSION_KEY = "test-web-session-key-0123456789abcdef"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF secret of the first form on a page."""
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF field"
    return found.group(1)


def sign_in(client: TestClient, caller: Caller) -> TestClient:
    """Sign ``client`` in with the caller's token, through the sign-in form."""
    form = client.get("/signin")
    assert form.status_code == 200
    answer = client.post(
        "/signin",
        data={"token": caller.token, "csrf": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def signed_in(client: TestClient) -> Callable[[Caller], TestClient]:
    """Sign the test's client in as a caller (one browser: the last sign-in wins)."""
    return lambda caller: sign_in(client, caller)


# ---- a real server, for the browser ---------------------------------------------------------


@dataclass
class LiveServer:
    """`supplytrack serve` on the demo data (small, seed 1), with a job worker and tokens."""

    base: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    supplier_ids: dict[str, int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def api(self, path: str, role: str = "admin", **params: Any) -> Any:
        """GET an API path as a role (to find ids for the pages)."""
        answer = httpx.get(
            self.base + path,
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _cli(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [*SUPPLYTRACK, *arguments], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def _token(env: dict[str, str], *arguments: str) -> str:
    printed = _cli(env, "tokens", "create", *arguments)
    return next(word for word in printed.split() if word.startswith("st_"))


@pytest.fixture(scope="session")
def live_server(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per test worker, on a database of its own with the demo data."""
    workdir = tmp_path_factory.mktemp("web")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_factory.fresh("web"),
        "LOG_LEVEL": "warning",
        "WEB_SESSION_KEY": SESSION_KEY,
        "RATE_LIMIT_DEFAULT": "100000/minute",
        "RATE_LIMIT_SUPPLIER": "100000/minute",
        "CACHE_WARM": "false",
        "QUEUE_FILE": str(workdir / "queue.db"),
        "JOB_SWEEP_SECONDS": "0.5",
        "COLUMNS": "200",
    }
    if is_postgres() and os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    else:
        env.pop("REDIS_URL", None)
    _cli(env, "demo-data", "--scale", "small", "--seed", "1")
    server = LiveServer(base=f"http://127.0.0.1:{port}", env=env)
    log = (workdir / "serve.log").open("wb")
    server.processes.append(
        subprocess.Popen(
            [*SUPPLYTRACK, "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    )
    if "REDIS_URL" in env:  # serve starts a job worker only on the embedded queue
        server.processes.append(
            subprocess.Popen(
                [*SUPPLYTRACK, "worker"],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.processes[0].poll() is None, (workdir / "serve.log").read_text()
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /healthz in 60 s"
            time.sleep(0.1)
        for role in ("admin", "manager", "viewer"):
            server.tokens[role] = _token(env, "--role", role, "--name", f"web-{role}")
        suppliers = server.api("/api/suppliers", limit=50)["items"]
        working = [s for s in suppliers if s["status"] == "ACTIVE"][:2]
        assert len(working) == 2, suppliers
        for name, supplier in zip(("supplier", "other_supplier"), working, strict=True):
            server.supplier_ids[name] = supplier["id"]
            server.tokens[name] = _token(
                env, "--role", "supplier", "--supplier-id", str(supplier["id"]), "--name", name
            )
        yield server
    finally:
        server.stop()
        log.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run in the SQLite half only.

    The pages call the same services on both engines, and their TestClient tests run on both;
    driving Chromium a second time would only add minutes to the PostgreSQL half.
    """
    if not is_postgres():
        return
    skip = pytest.mark.skip(reason="browser tests run in the SQLite half")
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium by its path, offline and quiet."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Save a full-page PNG of a Playwright page as build/screenshots/<engine>/<name>.png."""
    folder = SCREENSHOTS / ("postgres" if is_postgres() else "sqlite")
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000, path
        return path

    return take


def browser_sign_in(page: Any, server: LiveServer, role: str) -> None:
    """Sign a Playwright page in through the form, as a person would."""
    page.goto(server.base + "/signin")
    page.get_by_label("API token").fill(server.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/signin).*$"))
