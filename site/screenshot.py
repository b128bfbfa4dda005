"""Retake notebooks/fig/site-notebook.png, the README's picture of the website, in headless Chromium.

Run after ``./lesson site``:  .venv/bin/python site/screenshot.py  (serves site/_build/html on
127.0.0.1 for the moment it takes).
"""

from __future__ import annotations

import functools
import http.server
import io
import sys
import threading
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site" / "_build" / "html"
PAGE = "notebooks/" + next((ROOT / "notebooks").glob("[0-9]*-dask-distributed.ipynb")).stem + ".html"
OUT = ROOT / "notebooks" / "fig" / "site-notebook.png"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's name
        pass


def main() -> int:
    if not (SITE / PAGE).is_file():
        print(f"screenshot: build the site first (./lesson site); {SITE / PAGE} is missing", file=sys.stderr)
        return 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{PAGE}", wait_until="networkidle")
            png = page.screenshot()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    # 256 colours: a page of text and flat colour needs no more, and the file stays small.
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(OUT, optimize=True)
    print(f"screenshot: {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
