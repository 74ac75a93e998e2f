"""The Streamlit internals DNN Lab relies on still exist and behave as it expects.

If one of these fails after a Streamlit upgrade, read `app_pages/streamlit_private.py`:
each of its functions depends on something Streamlit does not promise to keep.
"""

import inspect
import re
from pathlib import Path

import keras
import streamlit
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import script_runner

from app_pages import streamlit_private

ROOT = Path(__file__).resolve().parent.parent


def test_streamlit_is_the_pinned_version():
    pinned = re.search(r"^streamlit==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert streamlit.__version__ == pinned, (
        f"Streamlit {streamlit.__version__} is installed, {pinned} is pinned: after an upgrade, "
        "check every function of app_pages/streamlit_private.py and then update the pin"
    )


def test_streamlit_still_resets_keras_where_we_skip_it(monkeypatch):
    cleaner = getattr(script_runner, streamlit_private.CLEANER_NAME, None)
    assert cleaner is not None, f"script_runner.{streamlit_private.CLEANER_NAME} is gone"
    assert "clear_session" in inspect.getsource(cleaner)

    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append("cleared"))
    streamlit_private.keep_keras_state_between_runs()
    cleaner()  # what Streamlit runs after every script run
    assert calls == [], "Streamlit's reset after a script run reached Keras"
    keras.backend.clear_session()  # anyone else still clears the session
    assert calls == ["cleared"]


def test_the_session_probe_api_exists():
    assert streamlit_private.session_probe() is None  # no server runs this test
    for name in ("exists", "instance", "is_active_session"):
        assert callable(getattr(Runtime, name, None)), f"streamlit Runtime.{name} is gone"
    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]
