"""What the browser edition's build leaves out and compiles (scripts/build_lite.py), on small
wheels made here: moto keeps the backends of lite/services.txt and what they import, jedi
leaves out third-party stubs, a repacked wheel's RECORD matches its files, and bytecode
takes the place of source in every wheel but labkit's. (The site built from the pinned
wheels is checked, and run, by tests/lite/test_lite.py.)"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_lite  # noqa: E402

#: A moto in miniature: sqs imports sns (relative) and utilities, and iam from inside a function;
#: sns imports ec2 through ``from .. import``; backends names glue only for type checkers.
MOTO = {
    "moto/__init__.py": "from moto.core import models\n",
    "moto/backends.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from moto.glue.models import Glue\n"
                        "else:\n    from moto.utilities import tagging\n",
    "moto/core/__init__.py": "", "moto/core/models.py": "import json\n",
    "moto/sqs/__init__.py": "from .models import sqs_backends\n",
    "moto/sqs/models.py": "from ..sns import models\nfrom moto.utilities.tagging import T\n"
                          "def publish():\n    from moto.iam import models\n",
    "moto/sns/__init__.py": "", "moto/sns/models.py": "from .. import ec2\n",
    "moto/ec2/__init__.py": "", "moto/iam/__init__.py": "from . import models\n", "moto/iam/models.py": "",
    "moto/utilities/__init__.py": "", "moto/utilities/tagging.py": "",
    "moto/glue/__init__.py": "", "moto/glue/models.py": "from moto.s3 import models\n",
    "moto/s3/__init__.py": "", "moto/s3/models.py": "",
}


def wheel(tmp_path: Path, dist: str, files: dict[str, str]) -> Path:
    metadata = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n".encode()
    return build_lite.write_wheel(tmp_path / f"{dist}-1.0-py3-none-any.whl", dist, "1.0",
                                  {name: text.encode() for name, text in files.items()}, metadata)


def record_matches(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        rows = list(csv.reader(io.StringIO(archive.read("moto-1.0.dist-info/RECORD").decode())))
        for name, digest, size in rows:
            if name.endswith("/RECORD"):
                continue
            data = archive.read(name)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)
    assert {row[0] for row in rows} == names


def test_moto_keeps_a_service_and_what_it_imports_not_what_type_checkers_name() -> None:
    files = {name: text.encode() for name, text in MOTO.items()}
    assert build_lite.moto_packages(files, {"sqs"}) == {"core", "utilities", "sqs", "sns", "ec2", "iam"}
    assert build_lite.moto_packages(files, {"glue"}) == {"core", "utilities", "glue", "s3"}


def test_trimmed_moto_has_the_listed_services_and_a_true_record(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_lite, "services", lambda: {"sqs"})
    trimmed = build_lite.trim_moto(wheel(tmp_path, "moto", MOTO), tmp_path / "out")
    with zipfile.ZipFile(trimmed) as archive:
        folders = {name.split("/")[1] for name in archive.namelist() if name.startswith("moto/") and name.count("/") == 2}
        assert "moto/backends.py" in archive.namelist()
    assert folders == {"core", "utilities", "sqs", "sns", "ec2", "iam"}
    record_matches(trimmed)


def test_a_service_moto_lacks_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_lite, "services", lambda: {"sqs", "lambda", "no-such-service"})
    with pytest.raises(build_lite.BuildError, match=r"no backend for: \['awslambda', 'nosuchservice'\]"):
        build_lite.trim_moto(wheel(tmp_path, "moto", MOTO), tmp_path / "out")


def test_jedi_keeps_the_standard_librarys_stubs_only(tmp_path: Path) -> None:
    files = {"jedi/__init__.py": "", "jedi/third_party/typeshed/stdlib/os.pyi": "",
             "jedi/third_party/typeshed/stubs/requests/api.pyi": "",
             "jedi/third_party/django-stubs/django-stubs/db.pyi": ""}
    with zipfile.ZipFile(build_lite.trim_jedi(wheel(tmp_path, "jedi", files), tmp_path / "out")) as archive:
        kept = {name for name in archive.namelist() if not name.startswith("jedi-1.0.dist-info/")}
    assert kept == {"jedi/__init__.py", "jedi/third_party/typeshed/stdlib/os.pyi"}


def test_bytecode_takes_the_place_of_the_source_it_was_compiled_from() -> None:
    moved, replaced = build_lite._sourceless({"moto/__pycache__/__init__.cpython-314.pyc": b"a",
                                              "moto/sqs/__pycache__/models.cpython-314.pyc": b"b"})
    assert moved == {"moto/__init__.pyc": b"a", "moto/sqs/models.pyc": b"b"}
    assert replaced == {"moto/__init__.py", "moto/sqs/models.py"}
    assert build_lite.SOURCE_KEPT == ("labkit",)


def test_without_node_the_build_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_lite.shutil, "which", lambda name: None)
    with pytest.raises(build_lite.BuildError, match=r"Node\.js is missing.*apt-get install nodejs"):
        build_lite.precompile({"moto": wheel(tmp_path, "moto", MOTO)}, tmp_path, tmp_path / "compiled")


def test_a_wheel_of_bytecode_names_its_imports_in_the_sites_lock(tmp_path: Path) -> None:
    """A one-module wheel compiled in place (typing_extensions.pyc) still names what it imports."""
    compiled = wheel(tmp_path, "typing_extensions", {"typing_extensions.pyc": "", "pkg/__init__.pyc": ""})
    assert build_lite.wheel_entry(compiled)["imports"] == ["pkg", "typing_extensions"]
