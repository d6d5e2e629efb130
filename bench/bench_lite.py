"""Benchmark: the browser edition's weight, and how soon its first lab answers.

Two figures, each printed with what it measured:

- the site's size (``make lite``'s ``_build/lite``, or ``LABKIT_LITE_SITE``) in
  MB, and the shares of Pyodide's runtime (WebAssembly, loader, standard
  library), of the Python wheels (labkit, boto3, botocore, moto, IPython...)
  and of JupyterLab's own files;
- the time from the page's start (navigation) to the completion of the first
  code cell of the first lab that declares the browser edition, in a fresh
  browser (nothing cached), served from 127.0.0.1, in Debian's Chromium:
  JupyterLab loads, Pyodide starts, the kernel loads every package of the
  site, then runs the cell. Three runs; the target is under 20 s.

Asserts nothing: the figures are for a reader to compare. Without a built
site it says so and measures nothing (``make lite`` builds one).

    python bench/bench_lite.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 20
#: The labs in the course's order (the table of contents): the first one that runs in the browser is timed.
TOC = ROOT / "_toc.yml"


def sizes(site: Path) -> dict[str, int]:
    shares = {"Pyodide runtime": 0, "Python wheels": 0, "JupyterLab and extensions": 0, "notebooks and other": 0}
    for path in site.rglob("*"):
        if not path.is_file():
            continue
        parts = path.relative_to(site).parts
        size = path.stat().st_size
        if parts[:2] == ("static", "pyodide"):
            shares["Python wheels" if path.suffix == ".whl" else "Pyodide runtime"] += size
        elif parts[0] in ("build", "extensions", "lab", "notebooks", "static"):
            shares["JupyterLab and extensions"] += size
        else:
            shares["notebooks and other"] += size
    return shares


def first_lab(site: Path) -> str | None:
    import yaml

    def files(node: object) -> list[str]:
        if isinstance(node, dict):
            return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in files(v)]
        if isinstance(node, list):
            return [f for item in node for f in files(item)]
        return []

    for name in files(yaml.safe_load(TOC.read_text(encoding="utf-8"))):
        if name.startswith("labs/") and (site / "files" / f"{name}.ipynb").exists():
            return f"{name}.ipynb"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    site = Path(os.environ.get("LABKIT_LITE_SITE") or ROOT / "_build" / "lite")
    if not (site / "lab" / "index.html").exists():
        print(f"browser edition: no site in {site} (run `make lite`): nothing measured")
        return 0
    shares = sizes(site)
    total = sum(shares.values())
    print(f"site size: {total / 1e6:.1f} MB ({site})")
    for name, size in shares.items():
        print(f"  {name}: {size / 1e6:.1f} MB ({100 * size / total:.0f} %)")
    lab = first_lab(site)
    if lab is None:
        print("time to the first cell: no lab in the site")
        return 0
    from tests.lite.site import browser_with_proxy, serve

    seconds = []
    with serve(site) as origin, browser_with_proxy() as (browser, _proxy):
        from tests.lite.site import run_notebook

        for _ in range(args.runs):
            run = run_notebook(browser, origin, lab, timeout=300)
            if run.first_cell_s is None:
                print(f"time to the first cell of {lab}: the cell did not finish")
                return 1
            seconds.append(run.first_cell_s)
    verdict = "met" if statistics.median(seconds) < TARGET_SECONDS else "not met"
    print(f"time from page load to the first cell's completion, {lab}: median {statistics.median(seconds):.1f} s "
          f"over {len(seconds)} cold runs (min {min(seconds):.1f} s, max {max(seconds):.1f} s; "
          f"target < {TARGET_SECONDS} s: {verdict}; {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
