"""DNN Lab's core: MNIST, the talk's networks, training, saved models, inference, analysis.

This package never imports Streamlit; the app's pages are thin layers over it.
"""

import os

# TensorFlow's C++ start-up chatter is noise on a projector and in the CLI.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
