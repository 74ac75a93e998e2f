"""The Dockerfile, checked where no Docker engine runs: its commands work here too."""

import json
import re
import shlex
import subprocess
import sys
from importlib import metadata

import pytest

from tests.support import ROOT, free_port, start_streamlit

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def _exec_form(args: str) -> list[str]:
    return json.loads(args[args.index("[") :])


def test_base_image_is_slim_python_311_or_later():
    base = next(args for word, args in instructions() if word == "FROM")
    match = re.match(r"python:3\.(\d+)-slim", base)
    assert match and int(match.group(1)) >= 11, base


def test_runs_as_a_non_root_user_and_exposes_8501():
    steps = instructions()
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("EXPOSE", "8501") in steps


def test_every_copied_path_exists():
    for word, args in instructions():
        if word == "COPY" and "--from=" not in args:
            sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), source


def test_pinned_requirements_are_what_is_installed_here():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or ";" in line:  # platform-specific lines: tensorflow vs tensorflow-cpu
            continue
        name, version = line.split("==")
        name = name.split("[")[0]  # an extra, e.g. psycopg[binary], installs the package itself
        assert metadata.version(name) == version, name


def test_build_step_fetches_mnist_with_the_cli():
    runs = [args for word, args in instructions() if word == "RUN"]
    assert "python -m dnnlab data" in runs
    run = subprocess.run(
        [sys.executable, "-m", "dnnlab", "data"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0 and "MNIST ready" in run.stdout, run.stderr


@pytest.fixture
def container_like_server():
    """The image's CMD, run here on a free port instead of 8501."""
    command = _exec_form(next(args for word, args in instructions() if word == "CMD"))
    assert command[:4] == ["python", "-m", "streamlit", "run"]
    assert "--server.headless=true" in command and "--browser.gatherUsageStats=false" in command
    port = free_port()
    flags = [f for f in command[5:] if not f.startswith(("--server.port", "--server.address"))]
    process, url = start_streamlit(port=port, extra_args=flags + ["--server.address=127.0.0.1"])
    yield port
    process.terminate()
    process.wait(timeout=20)


def test_healthcheck_command_passes_against_the_cmd(container_like_server):
    health = next(args for word, args in instructions() if word == "HEALTHCHECK")
    command = _exec_form(health[health.index("CMD") + 3 :])
    assert "/_stcore/health" in command[-1]
    command = [sys.executable] + [c.replace(":8501", f":{container_like_server}") for c in command[1:]]
    assert subprocess.run(command, timeout=30).returncode == 0
