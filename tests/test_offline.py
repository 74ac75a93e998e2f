"""Offline operation: the tests run with every non-local connection refused, and pass."""

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT


def test_the_guard_refuses_the_network_in_this_process():
    with pytest.raises(ConnectionRefusedError, match="offline test"):
        socket.create_connection(("93.184.216.34", 80), timeout=2)
    with pytest.raises(OSError):
        urllib.request.urlopen("http://example.com", timeout=2)


def test_the_guard_reaches_child_processes():
    code = "import socket; socket.create_connection(('1.1.1.1', 443), timeout=2)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "offline test: connection" in run.stderr


def test_localhost_is_still_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=2):
        pass
    server.close()


def test_cli_finds_mnist_and_predicts_offline(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "dnnlab", "data", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["source"].startswith("project cache")


def test_served_app_renders_every_page_offline(app_page, app_server):
    """`app_server` runs under the guard too (it inherits PYTHONPATH)."""
    from playwright.sync_api import expect

    from tests.conftest import wait_for_app

    for path, heading in [
        ("/", "Train"),
        ("/model", "Model"),
        ("/draw", "Draw"),
        ("/experiments", "Experiments"),
    ]:
        app_page.goto(app_server + path)
        wait_for_app(app_page)
        expect(app_page.get_by_role("heading", name=heading).first).to_be_visible()
        expect(app_page.locator('[data-testid="stException"]')).to_have_count(0)
