"""DNN Lab's core: MNIST, the talk's networks, training, saved models, inference, analysis.

This package never imports Streamlit; the app's pages are thin layers over it.
"""

import contextlib
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr (fd 2) set aside.

    TensorFlow 2.21 writes C++ start-up lines (absl's "All log messages before
    absl::InitializeLog()", oneDNN notices) to fd 2 while it loads, whatever
    `TF_CPP_MIN_LOG_LEVEL` says: noise before the CLI's own first line. What it wrote
    is shown after all if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            with contextlib.suppress(OSError):
                os.write(2, captured.read()[-20_000:])
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
