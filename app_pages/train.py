"""Train: pick one of the talk's networks (or change it), watch it learn, save it."""

import streamlit as st

from app_pages.common import mnist
from app_pages.train_checkpoints import checkpoint_inputs
from app_pages.train_finetune import section as learn_from_the_room
from app_pages.train_form import config_inputs
from app_pages.train_live import LIVE, live_view, start_training
from app_pages.train_overfit import overfit_strip
from app_pages.train_results import results
from dnnlab import jobs, limits
from dnnlab.safe_text import escape_markdown

st.title("Train")
st.caption(
    "Pick one of the talk's networks or change one thing at a time, press **Train** and watch it learn."
)
loaded = mnist()
jobs.warm_up()
try:
    limit = limits.current().train_limit
except ValueError as e:
    st.warning(f"{escape_markdown(e)}; training on all images.")
    limit = None
if limit is not None:
    st.caption(f"`DNNLAB_TRAIN_LIMIT={limit}`: training and testing on the first {limit:,} images at most.")
config = checkpoint_inputs(config_inputs())
overfit_strip()
for message in [*st.session_state.pop("train_url_messages", []), st.session_state.pop("train_refused", None)]:
    if message:
        st.warning(escape_markdown(message))

job = st.session_state.get("train_job")
busy = job is not None and job.state in LIVE
train_col, stop_col = st.columns(2)
train_col.button("Train", key="train_start", type="primary", disabled=busy or config is None, width="stretch",
                 on_click=start_training, args=(config, limit))  # fmt: skip
stop_col.button(
    "Stop", key="train_stop", disabled=not busy, width="stretch", on_click=job.stop if busy else None
)
if busy:  # poll while the job is live; a finished job is drawn once, outside any fragment
    st.fragment(run_every=0.5)(live_view)(True)
else:
    live_view(False)
if job is not None and not busy:
    results(job, loaded)
learn_from_the_room()
