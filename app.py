"""DNN Lab: how deep neural networks learn, on MNIST. Start with `make run`."""

import streamlit as st

st.set_page_config(page_title="DNN Lab", page_icon="🧠", layout="wide")

pages = [
    st.Page("pages/train.py", title="Train", icon="🏋️", default=True),
    st.Page("pages/model.py", title="Model", icon="🔬"),
    st.Page("pages/draw.py", title="Draw", icon="✏️"),
    st.Page("pages/experiments.py", title="Experiments", icon="📊"),
]
st.navigation(pages).run()
