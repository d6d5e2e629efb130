"""Chromium and Playwright for the browser tests: found, or the run fails saying what to do.

``make test`` installs both (``scripts/ensure-chromium.sh``, ``requirements.txt``);
a missing one fails the tests that need it rather than skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

#: Debian's Chromium (Playwright's own browser download is not used: the course tests offline).
CHROMIUM = os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium")
#: What Chromium needs here, as root and offline.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def playwright_or_fail() -> ModuleType:
    """``playwright.sync_api``, after checking Chromium is there too (at a module's import: ``pytrace=False``)."""
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        pytest.fail("Playwright is not installed: run `.venv/bin/pip install -r requirements.txt` (make test does)",
                    pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed ({CHROMIUM} is missing): run `bash scripts/ensure-chromium.sh` "
                    "(Debian's chromium), or set LABKIT_CHROMIUM to a Chromium executable", pytrace=False)
    return sync_api
