"""Shared fixtures: small MNIST subsets, a private models folder, and the real app in Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
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


def copy_shipped(folder: Path, names) -> Path:
    """Copy shipped models (one folder each: `model.keras` + `meta.json`) into `folder`."""
    import shutil

    for name in names:
        shutil.copytree(ROOT / "models" / name, folder / name)
    return folder


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

# The flags this machine's closed network needs, kept with the benchmarks that use them too.
from bench.draw_latency import CHROMIUM_FLAGS  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(
    env_overrides: dict | None = None,
    timeout: float = 60.0,
    *,
    port: int | None = None,
    extra_args: list[str] | None = None,
):
    """Start `streamlit run app.py` on a free port; return (process, base url)."""
    port = port or _free_port()
    env = {**os.environ, **(env_overrides or {})}
    args = extra_args or ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.fileWatcherType",
            "none",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {process.stdout.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not answer /_stcore/health within {timeout} s")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app served by `streamlit run`, with the shipped models copied to a private folder."""
    from dnnlab.architectures import PRESETS

    folder = copy_shipped(tmp_path_factory.mktemp("served-models"), PRESETS)
    process, url = start_streamlit({"DNNLAB_MODELS": str(folder), "DNNLAB_TRAIN_LIMIT": "2000"})
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
