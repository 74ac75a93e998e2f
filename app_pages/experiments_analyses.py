"""Experiments → Errors and Representations: one model's mistakes and its RDMs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.experiments_sections import GALLERY_SIZE, RDM_COLUMNS, place, remember, remembered
from dnnlab import charts, rsa


def errors(report, test_images) -> None:
    st.metric("Test accuracy", f"{report.accuracy:.2%}", help=f"{report.total:,} test images")
    left, right = st.columns(2)
    left.markdown("**Confusion matrix** (rows: true digit; columns: predicted)")
    place(left, charts.confusion_chart(report.confusion_frame()))
    right.markdown("**Accuracy per digit**")
    per_class = pd.DataFrame({"digit": range(len(report.per_class)), "accuracy": report.per_class})
    place(right, charts.per_class_chart(per_class, ["accuracy"]))
    st.markdown(
        f"**The most confident mistakes** ({len(report.mistakes):,} in all): true → predicted (confidence)"
    )
    top = report.mistakes.head(GALLERY_SIZE)
    if top.empty:
        st.success("No mistakes on the test set.")
        return
    st.image(
        [test_images[i] for i in top["index"]],
        caption=[
            f"{t} → {p} ({c:.0%})"
            for t, p, c in zip(top["true"], top["predicted"], top["confidence"], strict=True)
        ],
        width=72,
    )


def similarity(result, images, ideal) -> None:
    n = len(result.labels)
    st.markdown(
        f"{n} test images ({n // 10} of each digit, fixed seed), ordered 0 to 9. Each RDM holds 1 − Pearson "
        "correlation between the activation patterns of every pair of images; colour: percentile "
        "within the RDM (dark = similar, yellow = dissimilar)."
    )
    names, images = [*result.names, "digit category (ideal)"], [*images, ideal]
    for start in range(0, len(names), RDM_COLUMNS):
        columns = st.columns(RDM_COLUMNS)
        for column, name, image in zip(columns, names[start:], images[start:], strict=False):
            column.image(image, caption=name, width="stretch")
    measure = rsa.METHODS[result.method]
    st.markdown(
        f"**Category structure emerging with depth** (rsatoolbox, {measure} between RDMs; bars: 95% "
        f"intervals over {result.resamples} resamples of the images within each digit). The dashed line "
        "is the ceiling: what a perfect category RDM scores against these images."
    )
    place(st, charts.rsa_chart(result.table(), measure))


def rsa_method(key: str = "exp_rsa_method") -> str:
    remembered(key)
    method = st.radio(
        "Compare RDMs by", list(rsa.METHODS), format_func=rsa.METHODS.get, horizontal=True, key=key
    )
    return remember(key, method)
