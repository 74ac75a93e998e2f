"""Shared fixtures: small MNIST subsets, a private models folder, and the real app in Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = ROOT / "tests" / "offline"
sys.path.insert(0, str(ROOT))

# The whole test run is offline: this process and every process it starts refuse
# connections to anything but localhost (see tests/offline/sitecustomize.py).
os.environ["DNNLAB_OFFLINE_GUARD"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(OFFLINE), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(OFFLINE))
import sitecustomize as offline_guard  # noqa: E402  (may be another sitecustomize if one ran first)

if not hasattr(offline_guard, "install"):
    import importlib.util

    spec = importlib.util.spec_from_file_location("dnnlab_offline_guard", OFFLINE / "sitecustomize.py")
    offline_guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(offline_guard)
offline_guard.install()


@pytest.fixture(scope="session")
def mnist():
    """The full MNIST arrays, loaded once for the whole test run."""
    from dnnlab import data

    return data.load_mnist()


@pytest.fixture(scope="session")
def small_mnist():
    """2,000 training and 2,000 test images: enough to learn something in seconds."""
    from dnnlab import data

    return data.load_mnist(limit=2000)


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """An empty, private models folder (DNNLAB_MODELS) for tests that save."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("DNNLAB_MODELS", str(folder))
    return folder


def wait_watched(job, timeout: float) -> bool:
    """Wait for a training job as its page does, polling it: each poll is the job's
    heartbeat (`Job.touch`). A job nobody polls for `jobs.HEARTBEAT_TIMEOUT` counts as
    abandoned and is cancelled, and under AppTest no browser session vouches for it, so a
    bare `job.wait` fails whenever a loaded machine makes the job outlast that. False if
    `timeout` seconds pass first."""
    import time

    deadline = time.monotonic() + timeout
    while not job.wait(timeout=1.0):
        job.touch()
        if time.monotonic() > deadline:
            return False
    return True


def elements(at, *kinds: str) -> list:
    """Every element of these proto types in an AppTest tree (charts have no accessor)."""
    found = []

    def walk(node):
        if getattr(node, "type", None) in kinds:
            found.append(node)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


# --- the real app in a real browser ------------------------------------------------

from tests.support import CHROMIUM_FLAGS, copy_shipped, log_tail, start_streamlit  # noqa: E402

SERVER_LOGS: list[Path] = []  # the logs of the servers the session-wide fixtures started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the served app shows the tail of the server's log."""
    report = yield
    if report.failed and call.when == "call" and "app_server" in getattr(item, "fixturenames", ()):
        for path in SERVER_LOGS:
            report.sections.append((f"streamlit log {path} (tail)", log_tail(path)))
    return report


@pytest.fixture(scope="session")
def served_models(tmp_path_factory) -> Path:
    """The served app's models folder: the shipped talk networks, copied. A test that adds
    a model here removes it again (the other browser tests share the server)."""
    from dnnlab.architectures import PRESETS

    return copy_shipped(tmp_path_factory.mktemp("served-models"), PRESETS)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, served_models):
    """The app served by `streamlit run`, with the shipped models copied to a private folder."""
    folder = served_models
    log_path = tmp_path_factory.mktemp("served-log") / "streamlit.log"
    # A Stop that the loaded test machine takes long to honour must end the run, not kill
    # it (the escalation itself is tested in tests/test_worker.py).
    env = {"DNNLAB_MODELS": str(folder), "DNNLAB_TRAIN_LIMIT": "2000", "DNNLAB_STOP_GRACE_SECONDS": "300"}
    process, url = start_streamlit(env, log_path=log_path)
    SERVER_LOGS.append(log_path)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def launch_chromium(playwright):
    """Chromium for Playwright: DNNLAB_CHROMIUM names the binary ('playwright' for its own)."""
    executable = os.environ.get("DNNLAB_CHROMIUM") or "/usr/bin/chromium"
    kwargs = {"headless": True, "args": CHROMIUM_FLAGS}
    if executable != "playwright":
        if not Path(executable).exists():
            pytest.fail(f"no Chromium at {executable}: run `make test`, which installs it")
        kwargs["executable_path"] = executable
    return playwright.chromium.launch(**kwargs)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def wait_for_app(page):
    """Wait until Streamlit is connected and has finished running the script.

    As Streamlit's own e2e tests do: the app root carries its connection and
    script-run state as attributes.
    """
    from playwright.sync_api import expect

    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=60_000)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=120_000)


@pytest.fixture
def app_page(browser, app_server):
    """A fresh browser context on the app; use `app_page.goto(app_server + '/draw')`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
