"""Untrusted text made inert before it reaches any markdown element.

Streamlit renders markdown (GitHub-flavoured: links, images, bare-URL and e-mail
autolinks, HTML, `:red[...]` directives, `$...$` maths) in `st.markdown`, `st.caption`,
`st.info`/`st.warning`/`st.error`, widget and metric labels, tab and expander titles.
A value from a URL, a file name, a model's JSON, a layer name inside a `.keras` or an
exception's text must reach the reader as the characters it is, never as a link.

CommonMark lets a backslash escape *any* ASCII punctuation, and an escaped character is
always literal, so escaping all of it defeats every construct at once, including the
autolinks (`https\\://…`, `www\\.…`, `a\\@b`) that escaping brackets alone would miss.
"""

from __future__ import annotations

import re
import string

MAX_CHARS = 300  # a name or a message, not a document: longer values are cut

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# Line breaks would start a heading, list or quote; other control characters and the
# invisible bidirectional overrides would disguise what is shown.
INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def escape_markdown(value: object, *, max_chars: int = MAX_CHARS) -> str:
    """`value` as text that every Streamlit markdown element shows literally, on one line."""
    text = INVISIBLE.sub(" ", str(value)).strip()  # leading spaces would start a code block
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return _PUNCTUATION.sub(r"\\\1", text)
