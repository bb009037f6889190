"""The alert rules pass `promtool test rules`; every metric they and the dashboard use exists.

promtool comes from Debian's prometheus package (.ci/run installs it); without it the rule
tests are skipped, except in CI, where that fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.fixtures.auth import Caller
from tests.fixtures.client import from_this_host
from tests.fixtures.database import IN_CI, is_postgres

MONITORING = Path(__file__).resolve().parents[1] / "monitoring"
# Metrics that exist only elsewhere: Prometheus's own, or with REDIS_URL.
NOT_SCRAPED_HERE = {"up", "supplytrack_redis_up"}
_NAME = re.compile(r"\b(up|supplytrack_[a-z_]+)\b")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if IN_CI:
            pytest.fail("promtool is not installed (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


@pytest.mark.skipif(is_postgres(), reason="engine-independent: run once, in the SQLite half")
@pytest.mark.parametrize(
    "arguments",
    [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
        ["check", "config", "prometheus.yml"],
    ],
    ids=["rules are valid", "rule unit tests", "example config"],
)
def test_promtool(arguments: list[str]) -> None:
    done = subprocess.run(
        [_promtool(), *arguments], cwd=MONITORING, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _expressions() -> dict[str, str]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    found = {
        f"alert {rule['alert']}": rule["expr"]
        for group in rules["groups"]
        for rule in group["rules"]
    }
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found[f"panel {panel['title']} {target['refId']}"] = target["expr"]
    return found


def test_every_alert_has_a_unit_test() -> None:
    tests = (MONITORING / "alerts.test.yml").read_text()
    alerts = [name.removeprefix("alert ") for name in _expressions() if name.startswith("alert ")]
    assert alerts
    untested = [name for name in alerts if f"alertname: {name}\n" not in tests]
    assert untested == []


def test_every_metric_the_alerts_and_the_dashboard_use_is_exposed(
    client: TestClient, tuned: Callable[..., TestClient], manager: Caller
) -> None:
    limited = tuned(rate_limit_default="1/minute")
    for _ in range(2):
        limited.get("/api/suppliers", headers=manager.headers)  # a 429, a cache lookup
    scraped = from_this_host(limited).get("/metrics").text
    exposed = {line.split("{")[0].split(" ")[0] for line in scraped.splitlines() if line[:1] != "#"}
    # A labelled metric no request has touched yet is declared, with no sample.
    for declared in re.findall(r"^# TYPE (\S+) (\S+)$", scraped, re.MULTILINE):
        name, kind = declared
        exposed |= {name, f"{name}_total"} if kind == "counter" else {name}
        if kind == "histogram":
            exposed |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    missing = {
        where: sorted(set(_NAME.findall(expression)) - exposed - NOT_SCRAPED_HERE)
        for where, expression in _expressions().items()
    }
    assert {where: names for where, names in missing.items() if names} == {}
