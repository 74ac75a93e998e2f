"""Presentation mode: larger type, thicker strokes, higher contrast, for the back row.

On with the sidebar toggle or `?present=1` in the URL (so a lecturer can bookmark it). It
stays on across pages and reloads: every run puts `?present=1` back into the URL, which
Streamlit empties on each page change. Pages read `is_presenting()` for their own choices
(the Draw page's stroke width, charts through `dnnlab.charts.for_projector`).
"""

import streamlit as st

KEY = "present"
ON = ("1", "true", "yes")

# Everything is enlarged, nothing hidden. Streamlit sizes in rem, so a larger root font
# enlarges text, widgets and spacing together; the page's side margins are cut back so
# the content keeps its room at 1280×720. Vega charts draw their own text (see
# `charts.for_projector`) and images have the width their page gives them: pages enlarge
# those when `is_presenting()`.
_CSS = """
<style>
html, body, .stApp { font-size: 22px; }
.stMain h1 { font-size: 2.6rem; }
.stMain h2 { font-size: 2rem; }
.stMain h3 { font-size: 1.6rem; }
.stMainBlockContainer { padding: 1.5rem 1.5rem 3rem; max-width: 100%; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 0.9rem; color: #222222; }
button[data-baseweb="tab"] p { font-size: 1rem; }
/* Tables draw on a canvas in fixed pixel sizes: zoomed as a whole, in the same width. */
.stElementContainer:has(> [data-testid="stDataFrame"]) { zoom: 1.3; max-width: calc(100% / 1.3); }
[data-testid="stImageCaption"] [data-testid="stCaptionContainer"] p { font-size: 0.75rem; }

/* A metric's value shrinks to its own box rather than being cut to "9…". That box no
   longer grows with its text, so a metric sized to its content needs a width of its own. */
[data-testid="stMetric"] { container-type: inline-size; min-width: 11rem; }
[data-testid="stMetricValue"] { font-size: min(3.5rem, 28cqi); font-weight: 700; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem; }
[data-testid="stMetricLabel"] *, [data-testid="stMetricDelta"] * { white-space: normal; overflow: visible; }

/* Primary buttons: white on dark blue. Disabled ones look it. */
[data-testid="stBaseButton-primary"], [data-testid="stBaseButton-primary"] p {
  background-color: #0b5cad; color: #ffffff;
}
.stApp button:disabled { opacity: 0.4; cursor: not-allowed; }

/* Button labels wrap rather than end in "…"; the sidebar has room for "mlp-rescaled". */
.stApp button p { white-space: normal; text-overflow: clip; }
[data-testid="stSidebar"] { min-width: 360px; }
[data-testid="stSidebar"] button { padding-left: 0.4rem; padding-right: 0.4rem; }
[data-testid="stSidebar"] button p { font-size: 0.9rem; }
</style>
"""


def is_presenting() -> bool:
    return bool(st.session_state.get(KEY, False))


def presentation_mode() -> bool:
    """The sidebar toggle, initialised from `?present=1`; injects the styles when on."""
    if KEY not in st.session_state:
        st.session_state[KEY] = st.query_params.get(KEY) in ON
    st.sidebar.toggle(
        "Presentation mode",
        key=KEY,
        help="Larger type and thicker strokes for a projector; or add ?present=1 to the URL",
    )
    if st.session_state[KEY]:
        if st.query_params.get(KEY) != "1":
            st.query_params[KEY] = "1"  # survives a reload, and a link shared from here
        st.html(_CSS)
    else:
        st.query_params.pop(KEY, None)
    return st.session_state[KEY]
