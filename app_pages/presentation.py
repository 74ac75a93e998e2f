"""Presentation mode: larger type, thicker strokes, higher contrast, less clutter.

On with the sidebar toggle or `?present=1` in the URL (so a lecturer can bookmark it);
pages read `is_presenting()` for their own choices, e.g. the Draw page's stroke width.
"""

import streamlit as st

KEY = "present"

_CSS = """
<style>
html, body, .stApp { font-size: 22px; }
.stApp, .stApp p, .stApp label, .stApp li { color: #000000; }
.stApp h1 { font-size: 3.2rem; }
.stApp h2 { font-size: 2.4rem; }
.stApp h3 { font-size: 1.9rem; }
[data-testid="stMetricValue"] { font-size: 4.5rem; font-weight: 700; }
[data-testid="stMetricLabel"] p { font-size: 1.4rem; }
[data-testid="stCaptionContainer"], [data-testid="stToolbar"], footer { display: none; }
.block-container { padding-top: 1.5rem; max-width: 100%; }
</style>
"""


def is_presenting() -> bool:
    return bool(st.session_state.get(KEY, False))


def _sync_url():
    if st.session_state[KEY]:
        st.query_params[KEY] = "1"
    else:
        st.query_params.pop(KEY, None)


def presentation_mode() -> bool:
    """The sidebar toggle, initialised from `?present=1`; injects the styles when on."""
    if KEY not in st.session_state:
        st.session_state[KEY] = st.query_params.get(KEY) in ("1", "true", "yes")
    st.sidebar.toggle(
        "Presentation mode",
        key=KEY,
        on_change=_sync_url,
        help="Larger type and thicker strokes for a projector; or add ?present=1 to the URL",
    )
    if st.session_state[KEY]:
        st.html(_CSS)
    return st.session_state[KEY]
