"""Benchmark: building the book, and what its heaviest page weighs.

Three figures, each printed with what it measured:

- a clean ``jupyter-book build`` into a fresh folder, which executes every
  notebook and page (minutes: ``LABKIT_BENCH_SKIP_CLEAN_BOOK=1`` leaves it out);
- the same build again with nothing changed (target: at most 20 s), into the
  clean build's folder, or into ``--into`` when given (a folder a build was
  made in before, e.g. ``_build/..`` of ``make book``: ``--into .``);
- the heaviest page of that build: its HTML plus every local file it loads
  (scripts, style sheets, images, fonts named in its HTML), in bytes.

Asserts nothing: the figures are for a reader to compare.

    python bench/bench_book.py [--into FOLDER]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
REBUILD_TARGET_SECONDS = 20
LOADED = re.compile(r"""<(?:script|img|link|source)\b[^>]*?\b(?:src|href)=["']([^"'#?]+)""", re.I)


def build(into: Path) -> float:
    """Seconds one ``jupyter-book build`` of the course takes, output under ``into``."""
    jb = Path(sys.executable).parent / "jupyter-book"
    started = time.perf_counter()
    result = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(into), "--keep-going"],
                            capture_output=True, text=True, env={**os.environ, "LABKIT_REQUIRE_GRAPHVIZ": "1"})
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit("jupyter-book build failed:\n" + (result.stdout + result.stderr)[-3000:])
    return seconds


def page_weight(html: Path, page: Path) -> tuple[int, int]:
    """(bytes, files): the page and every local file its HTML loads."""
    files = {page}
    for link in LOADED.findall(page.read_text(encoding="utf-8", errors="replace")):
        if urlsplit(link).scheme or link.startswith("//") or link.startswith("data:"):
            continue  # an outside address (the browser tests fail on those) or inline data, counted in the page
        target = (page.parent / unquote(link)).resolve()
        if target.is_file() and target.is_relative_to(html.resolve()):
            files.add(target)
    return sum(f.stat().st_size for f in files), len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, help="rebuild here (a folder a build was made in) instead of a clean build")
    args = parser.parse_args()
    into = args.into
    if into is None:
        if os.environ.get("LABKIT_BENCH_SKIP_CLEAN_BOOK"):
            print("clean book build: skipped (LABKIT_BENCH_SKIP_CLEAN_BOOK is set; --into FOLDER times a rebuild)")
            return 0
        into = Path(tempfile.mkdtemp(prefix="labkit-bench-book-"))
        print(f"clean build (every notebook executed): {build(into):.1f} s")
    seconds = build(into)
    verdict = "met" if seconds <= REBUILD_TARGET_SECONDS else "not met"
    print(f"rebuild with nothing changed: {seconds:.1f} s (target <= {REBUILD_TARGET_SECONDS} s: {verdict})")
    html = into / "_build" / "html"
    weights = sorted(((page_weight(html, page), page) for page in html.rglob("*.html")), reverse=True)
    (size, count), page = weights[0]
    print(f"heaviest page: {page.relative_to(html)}, {size / 1024:.0f} KiB in {count} files "
          f"(its HTML {page.stat().st_size / 1024:.0f} KiB; {len(weights)} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
