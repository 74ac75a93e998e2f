"""The Train page's results: test scores, save or discard, the layer table and the code."""

import streamlit as st

from dnnlab import architectures, codegen, data, jobs, registry
from dnnlab.safe_text import escape_markdown


def results(job, loaded) -> None:
    """Test scores, save, layer summary and code of a finished job."""
    r = job.result
    if r is None:
        st.error(f"Training failed: {escape_markdown(job.error or 'cancelled before it trained')}")
        return
    if job.state == jobs.State.STOPPED:
        why = f" ({escape_markdown(job.note)})" if job.note else ""
        st.warning(f"Stopped after {r.epochs_completed} of {r.hyper.epochs} full epochs{why}: save the model so far, or discard it.")  # fmt: skip
    if job.config.resume_from:
        st.caption(f"Trained on from the saved model **{escape_markdown(job.config.resume_from)}**.")
    if r.best_epoch is not None:
        val = r.history["val_loss"]
        st.info(f"Kept epoch {r.best_epoch} of {len(val)}: the lowest validation loss "
                f"({val[r.best_epoch - 1]:.3f}; the last epoch's was {val[-1]:.3f}).", icon="📌")  # fmt: skip
    previous = st.session_state.get("train_previous")
    delta = None if previous is None else f"{(r.test_accuracy - previous) * 100:+.1f} points"
    top, bottom = st.columns(2), st.columns(2)  # two wide columns: no value cut short when presenting
    top[0].metric("Test accuracy", f"{r.test_accuracy:.2%}", delta=delta)
    top[1].metric("Test loss", f"{r.test_loss:.4f}")
    bottom[0].metric("Training time", f"{r.train_seconds:.1f} s")
    bottom[1].metric("Parameters", f"{r.model.count_params():,}")
    taken = [m.name for m in registry.list_models()]
    st.session_state.setdefault(
        "train_save_name", registry.suggest_name(job.config.preset, r.epochs_completed, taken)
    )
    name_col, save_col, discard_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = name_col.text_input("Model name", key="train_save_name").strip()
    if save_col.button("Save", key="train_save", type="primary", width="stretch"):
        digest = loaded.digest if job.limit is None else data.digest(data.load_mnist(limit=job.limit))
        try:
            meta = registry.build_meta(r, data_digest=digest, name=name)
            registry.save(r.model, meta, name, snapshots=r.snapshots)
            st.session_state.train_saved = (job.id, name)
        except (ValueError, registry.RegistryError) as e:
            st.error(f"Not saved: {escape_markdown(e)}. The trained model is still here; try another name.")
    if discard_col.button("Discard", key="train_discard", width="stretch"):
        del st.session_state["train_job"]
        st.rerun()
    if (saved := st.session_state.get("train_saved")) and saved[0] == job.id:
        st.success(f"Saved as **{escape_markdown(saved[1])}**: find it on the Model page.")
    st.subheader("Layers")
    st.code(architectures.summary_text(r.model), language=None)
    st.subheader("The Keras code")
    filename = f"{name or 'train_mnist'}.py"
    code = codegen.keras_code(r.spec, **r.hyper.to_dict(), filename=filename)
    st.code(code, language="python")
    st.download_button("Download .py", code, file_name=filename, mime="text/x-python", key="train_download")
