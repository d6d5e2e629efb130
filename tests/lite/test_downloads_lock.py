"""Every file the browser edition downloads from PyPI is pinned by its SHA-256
(lite/downloads.sha256), and make lite refuses one whose hash differs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_lite  # noqa: E402


def test_every_pin_has_a_locked_download_and_the_lock_nothing_else():
    lock = build_lite.read_lock()
    pins = build_lite.wanted_wheels()
    for name, version in pins.items():
        files = [file for file in lock if build_lite._pinned(file, {name: version})]
        suffix = (".tar.gz", ".zip") if name in build_lite.PURE_FROM_SOURCE else (".whl",)
        assert [f for f in files if f.endswith(suffix)], (
            f"{name}=={version} has no hash in lite/downloads.sha256: run `python scripts/build_lite.py --lock`")
    stale = [file for file in lock if not build_lite._pinned(file, pins)]
    assert not stale, f"lite/downloads.sha256 holds files nothing pins: {stale}"
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in lock.values())


def test_a_changed_download_is_refused_and_removed(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"the real bytes")
    lock: dict[str, str] = {}
    with pytest.raises(build_lite.BuildError, match="no hash in lite/downloads.sha256.*--lock"):
        build_lite.check_download(wheel, lock)
    build_lite.check_download(wheel, lock, record=True)
    assert set(lock) == {wheel.name}
    build_lite.check_download(wheel, lock)  # the same bytes pass
    wheel.write_bytes(b"other bytes")
    with pytest.raises(build_lite.BuildError, match="its sha256 is .* not .* the file was removed"):
        build_lite.check_download(wheel, lock)
    assert not wheel.exists()


def test_the_lock_file_reads_back_as_written(tmp_path):
    path = tmp_path / "lock"
    build_lite.write_lock({"b-1-py3-none-any.whl": "b" * 64, "a-1.tar.gz": "a" * 64}, path)
    assert build_lite.read_lock(path) == {"a-1.tar.gz": "a" * 64, "b-1-py3-none-any.whl": "b" * 64}
