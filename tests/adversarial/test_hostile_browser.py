"""What one browser can send, over the real websocket of a real server: a drawing that is
a decompression bomb, markdown and HTML in the URL and in saved models, a network too big
to train. Each gets a clear message; the server stays up, small, and shows no link."""

import io
import urllib.parse

import psutil
from markdown_it import MarkdownIt
from PIL import Image

from tests.adversarial.conftest import PAYLOAD, run_async
from tests.support import digit_paths, render
from tests.support_ws import Session, canvas_state

UNSAFE = {"link_open", "image", "html_inline", "html_block"}
MARKDOWN = MarkdownIt("commonmark")


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def links_and_images(run) -> list[str]:
    """Every markdown text of a run that would show a link, an image or HTML, as
    CommonMark parses it or as GitHub-flavoured markdown autolinks it."""
    found = []
    for source in run.markdown_sources():
        kinds = {t.type for block in MARKDOWN.parse(source) for t in [block, *(block.children or [])]}
        # Escaped, the payload reads "evil\\.example": verbatim, GitHub-flavoured markdown
        # would autolink it (or an "https:…" before it) even outside a link.
        if kinds & UNSAFE or "evil.example" in source:
            found.append(source)
    return found


def test_a_drawing_that_is_a_decompression_bomb_is_refused_from_its_header(hostile_server):
    url, process, _, _ = hostile_server
    bomb = png(Image.new("1", (13000, 13000)))  # 0.68 GB as RGBA once decoded
    normal = png(Image.fromarray(render(digit_paths(7))))

    server = psutil.Process(process.pid)
    rss = []

    async def student():
        session = await Session.open(url, page="draw")
        canvas = session.element("bidi_component")
        await session.set_json(canvas, canvas_state(normal))  # the page and its model are loaded
        rss.append(server.memory_info().rss)
        refused = await session.set_json(canvas, canvas_state(bomb))
        rss.append(server.memory_info().rss)
        after = await session.set_json(canvas, canvas_state(normal))
        await session.close()
        return refused, after

    refused, after = run_async(student())
    rss_before, rss_after = rss
    assert any("13000×13000 pixels is larger than a canvas drawing" in a for a in refused.alerts("error"))
    assert refused.exceptions() == [] and after.exceptions() == []
    assert after.metric("Prediction") in list("0123456789")  # the next drawing is read as usual
    assert process.poll() is None
    assert rss_after - rss_before < 200 * 2**20  # never decoded: the bomb alone would be 676 MB


def test_markdown_in_the_url_shows_as_text_on_the_train_page(hostile_server):
    url, _, _, _ = hostile_server
    query = urllib.parse.urlencode({"preset": "cnn", "epochs": PAYLOAD, "dense": "[x](https:evil.example)"})

    async def student():
        session = await Session.open(url, page="train", query=query)
        await session.close()
        return session.last

    run = run_async(student())
    warnings = run.alerts("warning")
    assert any("epochs" in w for w in warnings), warnings  # the value is refused, with a reason
    assert links_and_images(run) == []
    assert run.exceptions() == []


def test_a_network_over_the_parameter_limit_is_refused_with_the_reason(hostile_server):
    url, _, _, _ = hostile_server
    query = urllib.parse.urlencode({"conv": "64,64,64", "pool": "1", "dense": "1024,1024", "batch": "4096"})

    async def student():
        session = await Session.open(url, page="train", query=query)
        clicked = await session.click("Train")
        await session.close()
        return clicked

    run = run_async(student())
    shown = [alert.replace("\\", "") for alert in run.alerts()]  # as the reader sees it
    assert any("over the server's limit of 100,000 (DNNLAB_MAX_PARAMS)" in a for a in shown), shown
    assert run.exceptions() == []


def test_pages_over_a_hostile_model_show_its_names_as_text(hostile_server):
    url, process, _, _ = hostile_server
    drawing = png(Image.fromarray(render(digit_paths(3))))

    async def student():
        runs = {}
        for page in ("model", "experiments"):
            session = await Session.open(url, page=page)
            runs[page] = session.last
            await session.close()
        session = await Session.open(url, page="draw")
        runs["draw"] = await session.set_json(session.element("bidi_component"), canvas_state(drawing))
        await session.close()
        return runs

    runs = run_async(student())
    for page, run in runs.items():
        assert run.exceptions() == [], page
        assert links_and_images(run) == [], page
    assert runs["draw"].metric("Prediction") in list("0123456789")
    assert process.poll() is None
