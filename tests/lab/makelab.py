"""``make lab``'s command line, read from the Makefile (tests/lab/test_jupyterlab.py
starts JupyterLab with it; tests/lab/test_lab_settings.py reads its settings flag)."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The course's JupyterLab settings: ``make lab`` passes the folder, Binder's postBuild installs the file.
SETTINGS_DIR = ROOT / ".jupyter" / "lab" / "settings"


def lab_flags() -> list[str]:
    """``make lab``'s flags, read from the Makefile: ``$(CURDIR)`` is the course's
    root, and ``--allow-root`` is there when this runs as root."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"^LAB_FLAGS\s*:=(.*)$", text, re.M)
    assert match, "the Makefile has no LAB_FLAGS"
    value = re.sub(r"\$\(if \$\(filter 0,\$\(shell id -u\)\),--allow-root,\)", "--allow-root" if os.getuid() == 0 else "",
                   match.group(1))
    value = value.replace("$(CURDIR)", str(ROOT))
    assert "$(" not in value, f"a Make expression the test does not know in LAB_FLAGS: {value}"
    return value.split()
