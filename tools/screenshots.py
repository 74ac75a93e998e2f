"""Screenshots of every page at projector sizes, presenting and not: what the room sees.

    .venv/bin/python tools/screenshots.py                 # starts `streamlit run app.py` itself
    .venv/bin/python tools/screenshots.py --url URL --out screenshots/

Writes `<page>-<width>x<height>-<plain|present>.png` (the browser window, as a projector
shows it) for Train, Model, Draw (with a digit drawn), Experiments and Room (a room just
opened, its QR code shown), at 1280×720 and 1920×1080; and `join-390x844-phone.png`, the
Join page of that room on a phone. `make screenshots` runs it; the folder is gitignored.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.drawing import canvas, draw  # noqa: E402
from tests.support import CHROMIUM_FLAGS, digit_paths, start_streamlit  # noqa: E402

SIZES = [(1280, 720), (1920, 1080)]
PAGES = {"train": "", "model": "model", "draw": "draw", "experiments": "experiments", "room": "room"}
PHONE = {"width": 390, "height": 844}


def wait_for_app(page) -> None:
    """Connected, the script finished, nothing still loading, the fonts in."""
    from playwright.sync_api import expect

    from tests.conftest import wait_for_app as connected_and_idle

    connected_and_idle(page)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=60_000)
    page.evaluate("document.fonts.ready")


def draw_a_digit(page) -> None:
    """Draw a 3 and wait for its reading, so the Draw page shows what it is for."""
    side = canvas(page).bounding_box()["width"]
    draw(page, digit_paths(3, size=side * 0.65, centre=(side / 2, side / 2)))
    wait_for_app(page)


def shoot(browser, url: str, out: Path) -> list[Path]:
    written = []
    for width, height in SIZES:
        for mode in ("plain", "present"):
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(60_000)
            for name, path in PAGES.items():
                query = "?present=1" if mode == "present" else ""
                page.goto(f"{url}/{path}{query}")
                wait_for_app(page)
                if name == "draw":
                    draw_a_digit(page)
                if name == "room":
                    page.get_by_role("button", name="Open a room").click()
                    page.wait_for_url(re.compile(r"[?&]room="))
                    wait_for_app(page)
                    room_code = parse_qs(urlparse(page.url).query)["room"][0]
                target = out / f"{name}-{width}x{height}-{mode}.png"
                page.screenshot(path=str(target))
                written.append(target)
            context.close()
    written.append(shoot_phone(browser, url, room_code, out))
    return written


def shoot_phone(browser, url: str, code: str, out: Path) -> Path:
    """The Join page of room `code` as a phone shows it."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{url}/join?room={code}")
    wait_for_app(page)
    target = out / f"join-{PHONE['width']}x{PHONE['height']}-phone.png"
    page.screenshot(path=str(target))
    context.close()
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start `streamlit run app.py`)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "screenshots", help="folder (default screenshots/)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    # A room database of its own: the rooms opened for the pictures are not the lecturer's.
    rooms = Path(tempfile.mkdtemp(prefix="dnnlab-screenshots-")) / "room.sqlite3"
    process, url = (
        (None, args.url) if args.url else start_streamlit({"DNNLAB_ROOM_DB": str(rooms)}, timeout=120)
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=os.environ.get("DNNLAB_CHROMIUM", "/usr/bin/chromium"),
                headless=True,
                args=CHROMIUM_FLAGS,
            )
            for path in shoot(browser, url, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
            browser.close()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
