"""Every use of Streamlit internals, in one place (tests/test_streamlit_private.py checks
each against the installed Streamlit, so an upgrade that changes them fails loudly).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

# Streamlit's function that resets Keras after every script run (script_runner.py).
CLEANER_NAME = "_clean_problem_modules"


def keep_keras_state_between_runs() -> None:
    """Skip the `keras.backend.clear_session()` Streamlit calls after every script run.

    Streamlit resets Keras after each run, fragment runs included, in case a script
    builds a new model every time. DNN Lab never does: its models are loaded once and
    cached for every session. The reset ran a full garbage collection over
    TensorFlow's objects, ~0.3 s holding the GIL after every stroke of every student.
    Calls from anywhere else still clear the session.
    """
    import keras

    original = keras.backend.clear_session
    if getattr(original, "_dnnlab_keeps_state", False):
        return

    def clear_session(*args, **kwargs):
        caller = sys._getframe(1).f_code
        if caller.co_name == CLEANER_NAME and "streamlit" in caller.co_filename:
            return None
        return original(*args, **kwargs)

    clear_session._dnnlab_keeps_state = True
    keras.backend.clear_session = clear_session


def session_probe() -> Callable[[], bool] | None:
    """A callable telling whether this browser session is still connected (None when
    no Streamlit server runs this script, as in AppTest)."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)
