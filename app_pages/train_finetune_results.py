"""A finished fine-tune on the Train page: the held-out accuracy before and after, MNIST's
test accuracy before and after (what the room's handwriting cost), and Save."""

import itertools

import streamlit as st

from dnnlab import finetune, jobs, registry
from dnnlab.safe_text import escape_markdown


def _after(run: dict) -> float:
    """The fine-tuned network's held-out accuracy, computed once per run."""
    if "after" not in run:
        room_split, result = run["split"], run["job"].result
        run["after"] = finetune.accuracy(result.model, run["spec"], room_split.x_held, room_split.y_held)
    return run["after"]


def results(run: dict, data_digest: str) -> None:
    job, result = run["job"], run["job"].result
    if result is None or job.state not in (jobs.State.DONE, jobs.State.STOPPED):
        st.error(f"Fine-tuning did not finish: {escape_markdown(job.error or job.state)}")
        return
    after, before = _after(run), run["before"]
    held, mnist = st.columns(2)
    held.metric("Held-out room drawings, after", f"{after:.1%}", f"{(after - before) * 100:+.1f} points",
                help=f"{before:.1%} before fine-tuning, on the same {len(run['split'].held_out)} drawings")  # fmt: skip
    mnist_before = run["mnist_before"]
    mnist.metric("MNIST test set, after", f"{result.test_accuracy:.1%}",
                 None if mnist_before is None else f"{(result.test_accuracy - mnist_before) * 100:+.1f} points",
                 help="What learning the room's handwriting cost (or gained) on MNIST's 10,000 test digits")  # fmt: skip
    taken, base = {i.name for i in registry.list_models()}, f"{run['name']}-room"
    names = itertools.chain([base], (f"{base}-{i}" for i in itertools.count(2)))
    free = next(n for n in names if n not in taken)
    st.session_state.setdefault("finetune_save_name", free)
    name_col, save_col = st.columns([3, 1], vertical_alignment="bottom")
    name = name_col.text_input("Name for the fine-tuned network", key="finetune_save_name").strip()
    if save_col.button("Save", key="finetune_save", type="primary", width="stretch"):
        try:
            registry.save(result.model, registry.build_meta(result, data_digest=data_digest, name=name), name)
            st.session_state.finetune_saved = (job.id, name)
        except (ValueError, registry.RegistryError) as e:
            st.error(
                f"Not saved: {escape_markdown(e)}. The fine-tuned network is still here; try another name."
            )
    if (saved := st.session_state.get("finetune_saved")) and saved[0] == job.id:
        st.success(f"Saved as **{escape_markdown(saved[1])}**: find it on the Model page.")
