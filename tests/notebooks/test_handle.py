"""Notebooks reach a service's helpers through the handle (``lab.<service>.…``), never by importing it.

A learner reads ``lab.rds.connect(...)`` and knows where it comes from; an import
of ``labkit.services.rds`` under an alias (``labrds``) hides it, and collides
with the clients learners name after the service (``rds = lab.client("rds")``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from labkit.services import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))
SERVICES = "|".join(service.name for service in CATALOGUE)
IMPORT = re.compile(
    rf"^\s*(from\s+labkit\.services(\.\w+)?\s+import|import\s+labkit\.services|from\s+labkit\s+import\s+.*\b({SERVICES})\b"
    rf"|import\s+labkit\.({SERVICES})\b)", re.M)
MODULE_CALL = re.compile(rf"\blabkit\.(services\.)?({SERVICES})\.")


def offending_lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if IMPORT.search(line) or MODULE_CALL.search(line)]


def test_the_rule_catches_what_it_forbids():
    assert offending_lines("from labkit import rds as labrds") == ["from labkit import rds as labrds"]
    assert offending_lines("import labkit.dynamodb") and offending_lines("labkit.services.sns.forget()")
    assert offending_lines("from labkit.services.lambda_ import zip_code")
    assert not offending_lines("lab.rds.connect(host)\nfrom labkit.notebook import draw\nrds = lab.client('rds')")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_notebooks_use_the_handle(path):
    assert NOTEBOOKS, "no notebooks found"
    nb = nbformat.read(path, as_version=4)
    found = [line for cell in nb.cells if cell.cell_type == "code" for line in offending_lines(cell.source)]
    assert found == [], f"use lab.<service>.… instead of importing the service: {found}"
