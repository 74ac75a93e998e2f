"""DNN Lab: how deep neural networks learn, on MNIST. Start with `make run`."""

import streamlit as st

from app_pages.presentation import presentation_mode
from app_pages.start_here import start_strip
from app_pages.streamlit_private import keep_keras_state_between_runs

keep_keras_state_between_runs()
st.set_page_config(page_title="DNN Lab", page_icon="🧠", layout="wide")

train = st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", default=True)
pages = [
    train,
    st.Page("app_pages/model.py", title="Model", icon=":material/biotech:", url_path="model"),
    st.Page("app_pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
    st.Page(
        "app_pages/experiments.py", title="Experiments", icon=":material/monitoring:", url_path="experiments"
    ),
    st.Page("app_pages/room.py", title="Room", icon=":material/groups:", url_path="room"),
    st.Page("app_pages/join.py", title="Join (phones)", icon=":material/smartphone:", url_path="join"),
]
page = st.navigation(pages)
presentation_mode()
if page == train:  # the landing page
    start_strip()
page.run()
