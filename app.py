"""DNN Lab: how deep neural networks learn, on MNIST. Start with `make run`."""

import streamlit as st

from pages.presentation import presentation_mode

st.set_page_config(page_title="DNN Lab", page_icon="🧠", layout="wide")

pages = [
    st.Page("pages/train.py", title="Train", icon="🏋️", default=True),
    st.Page("pages/model.py", title="Model", icon="🔬", url_path="model"),
    st.Page("pages/draw.py", title="Draw", icon="✏️", url_path="draw"),
    st.Page("pages/experiments.py", title="Experiments", icon="📊", url_path="experiments"),
]
page = st.navigation(pages)
presentation_mode()
page.run()
