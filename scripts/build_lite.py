"""Build the browser edition of the course: a JupyterLite site in ``_build/lite``.

``make lite`` runs this. The site holds the walkthroughs and the learners'
copies of the labs (what ``labkit release`` makes: no worked solutions, no
hidden checks) that declare the browser edition in their metadata
(``metadata["labkit"]["editions"]`` lists ``"browser"``), and a Python that
runs in the page: Pyodide, with every package the notebooks import. Nothing
is fetched at run time from anywhere but the site itself:

- **Pyodide** is the npm package pinned in ``lite/pyodide.json`` (version and
  the registry's integrity hash, checked here), trimmed to what a page loads:
  the runtime, its WebAssembly and the standard library (``ssl``, ``sqlite3``,
  ``lzma``... are in Pyodide 314's standard library). It is placed where
  jupyterlite-pyodide-kernel looks for a local Pyodide (``static/pyodide``).
- **Graphviz**, which draws the diagrams, is the npm package ``@viz-js/viz``
  pinned in ``lite/viz.json`` the same way: its one-file build (WebAssembly
  inlined) goes into labkit's wheel, with the PNG of every icon the house
  style names (``labkit.notebook.diagrams.ICONS``, from the local
  ``diagrams`` package).
- **Packages** are pure-Python wheels (PyPI's ``py3-none-any``), pinned in
  ``lite/kernel-requirements.txt`` (the kernel: IPython and its parts) and
  ``lite/requirements.txt`` (what labkit and the labs import); botocore keeps
  the service models of the services that ``lite/services.txt`` names, and moto
  their backends (with what those import); jedi leaves out third-party type stubs. Every file
  downloaded from PyPI is checked against its SHA-256 in
  ``lite/downloads.sha256`` (a changed pin needs ``--lock``, which records
  the new file's hash for review, and drops the hashes nothing pins). Two of them
  have only compiled wheels on PyPI and work without their C speed-ups
  (MarkupSafe, PyYAML): their pure-Python wheel is made here from the source
  release. labkit is packed from this repository. The kernel's own shims
  (piplite, pyodide-kernel, its ipykernel) come from jupyterlite-pyodide-kernel.
- **Bytecode**: every wheel's Python files are compiled by the site's own
  Pyodide, run in Node.js (:func:`precompile`), so that the page does not
  compile boto3, moto and IPython as it imports them; labkit keeps its source
  beside its bytecode, the other packages ship bytecode only.
- **One lock file** (``static/pyodide/pyodide-lock.json``) lists exactly those
  wheels, and the kernel preloads all of them when it starts
  (``loadPyodideOptions.packages``): a notebook needs no install cell, and
  ``%pip install`` finds nothing outside the site (the PyPI fallback is off).

Downloads are cached in ``_build/lite-cache`` (the Pyodide archive, the
wheels, the trimmed and compiled wheels): a second build fetches nothing. Pyodide comes through npm when it is
installed, or else straight from the npm registry's archive address; the
integrity check is the same. Each missing piece is a clear error: the
registries, jupyterlite (``requirements-lite.txt``), Node.js.

Usage::

    python scripts/build_lite.py [--out _build/lite] [--notebook extra.ipynb ...] [--only-extra]
    python scripts/build_lite.py --serve 8000     # the built site on http://127.0.0.1:8000/lab/index.html
    python scripts/build_lite.py --lock           # after changing a pin: record the new downloads' hashes
"""

from __future__ import annotations

import argparse
import ast
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LITE = ROOT / "lite"
PYODIDE_PIN = LITE / "pyodide.json"
#: Graphviz compiled to WebAssembly (npm ``@viz-js/viz``), which draws the browser edition's diagrams.
VIZ_PIN = LITE / "viz.json"
#: The file of that package the site ships: its UMD build, WebAssembly inlined, that defines ``globalThis.Viz``.
VIZ_FILE = "dist/viz-global.js"
#: Where the engine and the icons go inside labkit's wheel (``labkit.notebook.diagrams_browser.ASSETS``).
DIAGRAM_ASSETS = "labkit/notebook/diagram_assets"
KERNEL_REQUIREMENTS = LITE / "kernel-requirements.txt"
#: labkit's needs in the browser (LABKIT_LITE_REQUIREMENTS names another file, to try a list out).
LABKIT_REQUIREMENTS = Path(os.environ.get("LABKIT_LITE_REQUIREMENTS") or LITE / "requirements.txt")
DEFAULT_OUT = ROOT / "_build" / "lite"
CACHE = ROOT / "_build" / "lite-cache"
#: The Python of the browser (Pyodide 314 is CPython 3.14).
BROWSER_PYTHON = "3.14"
#: Pyodide's files that a page loads; the rest of the npm package (source maps,
#: type declarations, the demo consoles) stays out of the site.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "package.json")
#: Packages with only compiled wheels on PyPI that run without their C part:
#: name -> the import packages taken from the source release.
PURE_FROM_SOURCE = {"markupsafe": ("markupsafe",), "pyyaml": ("yaml",)}
#: The AWS services the site keeps: botocore's service models and moto's backends for them (the rest stay out).
SERVICES = LITE / "services.txt"
#: moto's package for a service whose botocore name differs (other than by its dashes).
MOTO_PACKAGES = {"lambda": "awslambda"}
#: jedi's folders the site leaves out: type stubs of third-party packages (none of them the site's) and of
#: Django. jedi keeps the standard library's stubs, and completes the rest from the live objects.
JEDI_LEFT_OUT = ("jedi/third_party/typeshed/stubs/", "jedi/third_party/django-stubs/")
#: The kernel's shims shipped inside jupyterlite-pyodide-kernel (its static/pypi folder).
KERNEL_SHIMS = ("piplite", "pyodide_kernel", "ipykernel")
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
#: The site's notebooks: folder in the repository -> folder in the site.
FOLDERS = ("notebooks", "labs")
#: The kernel a lite copy names (JupyterLite's Pyodide kernel), so that no kernel dialog opens.
LITE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
#: JupyterLab extensions of .venv that the site leaves out: jupyterlab-myst (8 MB) renders
#: every Markdown cell again on each change, which holds a long notebook's page busy in
#: JupyterLite (the notebooks' Markdown is shown as CommonMark instead). (The widgets' manager
#: stays: ipywidgets is in lite/requirements.txt.)
LEFT_OUT_EXTENSIONS = ("jupyterlab-myst",)
APP_NAME = "AWS Architecture, Hands-On (browser edition)"


class BuildError(RuntimeError):
    """A step of the build that cannot go on, with what to do about it."""


# ----------------------------------------------------------------- pins


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path) -> dict[str, str]:
    """``name==version`` lines (comments and blank lines skipped) -> {normalized name: version}."""
    if not path.exists():
        raise BuildError(f"{path} is missing: it pins the packages the site ships")
    pins = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        if not match:
            raise BuildError(f"{path}:{number}: {raw.strip()!r} is not pinned as name==version")
        pins[normalize(match.group(1))] = match.group(3)
    return pins


def wanted_wheels() -> dict[str, str]:
    """Every pinned package of the site, kernel's and labkit's, without labkit itself."""
    pins = read_requirements(KERNEL_REQUIREMENTS)
    for name, version in read_requirements(LABKIT_REQUIREMENTS).items():
        if name in pins and pins[name] != version:
            raise BuildError(f"{name} is pinned twice with different versions: {pins[name]} and {version}")
        pins[name] = version
    pins.pop("labkit", None)
    for banned in ("cryptography", "trustme"):
        if banned in pins:
            raise BuildError(f"{banned} is in the site's requirements: it has no browser build (labkit's browser mode does "
                             "without it)")
    return pins


# ----------------------------------------------------------------- npm packages: Pyodide, Graphviz


#: Where the archive comes from when npm is not installed.
NPM_REGISTRY = "https://registry.npmjs.org"


def fetch_npm(pin_path: Path, cache: Path) -> Path:
    """The npm archive that ``pin_path`` pins (``package``, ``version``, the registry's
    ``integrity``), in the cache, its integrity checked. Returns the archive."""
    pin = json.loads(pin_path.read_text(encoding="utf-8"))
    spec = f"{pin['package']}@{pin['version']}"
    # npm pack's name for it (@scope/name -> scope-name-1.0.tgz); the registry's is name-1.0.tgz.
    archive = cache / f"{pin['package'].lstrip('@').replace('/', '-')}-{pin['version']}.tgz"
    if not archive.exists():
        print(f"==> fetching {spec} from the npm registry", flush=True)
        cache.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm")
        if npm:
            done = subprocess.run([npm, "pack", spec, "--pack-destination", str(cache), "--silent"],
                                  capture_output=True, text=True)
            if done.returncode != 0 or not archive.exists():
                raise BuildError(f"npm could not fetch {spec} (no network to the npm registry?):\n{done.stderr.strip()}")
        else:  # no npm: the registry's own address for the package's archive (the integrity check follows)
            url = f"{NPM_REGISTRY}/{pin['package']}/-/{pin['package'].rsplit('/', 1)[-1]}-{pin['version']}.tgz"
            try:
                with urllib.request.urlopen(url, timeout=120) as answer:
                    partial = archive.with_name(archive.name + ".partial")
                    partial.write_bytes(answer.read())
                    partial.replace(archive)
            except OSError as error:
                raise BuildError(f"could not fetch {url} (no network to the npm registry?): {error}") from error
    algorithm, expected = pin["integrity"].split("-", 1)
    actual = base64.b64encode(hashlib.new(algorithm, archive.read_bytes()).digest()).decode()
    if actual != expected:
        archive.unlink()
        raise BuildError(f"{archive.name}: its {algorithm} is {actual}, not the pinned {expected} "
                         f"(lite/{pin_path.name}); the archive was removed")
    return archive


def fetch_pyodide(cache: Path) -> Path:
    """The pinned Pyodide npm archive (``lite/pyodide.json``)."""
    return fetch_npm(PYODIDE_PIN, cache)


def diagram_assets(cache: Path) -> dict[str, bytes]:
    """What the browser edition draws diagrams with, as files of labkit's wheel (archive name -> bytes):
    Graphviz compiled to WebAssembly (``@viz-js/viz``'s one-file build, pinned in ``lite/viz.json``), and
    the PNG of every icon that ``labkit.notebook.diagrams.ICONS`` names, from the local ``diagrams`` package.
    (``labkit.notebook.diagrams_browser`` reads them from there.)"""
    from labkit.notebook import diagrams

    with tarfile.open(fetch_npm(VIZ_PIN, cache)) as tar:
        try:
            engine = tar.extractfile(tar.getmember(f"package/{VIZ_FILE}")).read()
        except KeyError as error:
            raise BuildError(f"the npm package pinned in lite/viz.json has no {VIZ_FILE}: pin a 3.x release that has "
                             "it, or change VIZ_FILE") from error
    files = {f"{DIAGRAM_ASSETS}/{Path(VIZ_FILE).name}": engine}
    for kind in sorted(diagrams.ICONS):
        try:
            files[f"{DIAGRAM_ASSETS}/icons/{kind}.png"] = diagrams.icon_file(kind).read_bytes()
        except (ImportError, OSError) as error:
            raise BuildError(f"the icon for {kind!r} could not be read from the diagrams package ({error}): "
                             "run `make lite` in the course's .venv (requirements.txt installs diagrams)") from error
    return files


def place_pyodide(archive: Path, dest: Path) -> dict:
    """Unpack the files a page loads into ``dest``; returns Pyodide's own lock file (its ``info``)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        for name in PYODIDE_FILES:
            member = tar.getmember(f"package/{name}")
            (dest / name).write_bytes(tar.extractfile(member).read())
        # Pyodide's own lock, for the build's use of the runtime (precompile); the site's replaces it.
        lock = tar.extractfile(tar.getmember("package/pyodide-lock.json")).read()
        (dest / "pyodide-lock.json").write_bytes(lock)
        return json.loads(lock)


# ----------------------------------------------------------------- wheels


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--quiet"],
                          capture_output=True, text=True)


def cached_file(folder: Path, name: str, version: str, suffixes: tuple[str, ...]) -> Path | None:
    stem = re.sub(r"[-_.]+", "_", name).lower()
    for path in folder.glob("*"):
        base = path.name.lower()
        if base.endswith(suffixes) and re.sub(r"[-_.]+", "_", base).startswith(f"{stem}_{re.sub(r'[-_.]+', '_', version)}_"):
            return path
    return None


#: The SHA-256 of every file downloaded from PyPI, by file name (``sha256sum``'s format).
DOWNLOADS_LOCK = LITE / "downloads.sha256"


def read_lock(path: Path = DOWNLOADS_LOCK) -> dict[str, str]:
    """``lite/downloads.sha256`` as {file name: hex SHA-256} (empty when there is none)."""
    if not path.exists():
        return {}
    lock = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, _, name = line.partition("  ")
            lock[name.strip()] = digest.strip()
    return lock


def write_lock(lock: dict[str, str], path: Path = DOWNLOADS_LOCK) -> None:
    lines = ["# SHA-256 of each file scripts/build_lite.py downloads from PyPI (sha256sum's format).",
             "# A build refuses a file whose hash differs; `python scripts/build_lite.py --lock` records new pins.",
             *(f"{digest}  {name}" for name, digest in sorted(lock.items()))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def check_download(path: Path, lock: dict[str, str], record: bool = False) -> None:
    """Refuse ``path`` (and remove it from the cache) unless its SHA-256 is the one
    ``lock`` holds; with ``record``, a file the lock does not know yet is added to it."""
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = lock.get(path.name)
    if expected is None:
        if record:
            lock[path.name] = actual
            return
        raise BuildError(f"{path.name} has no hash in {DOWNLOADS_LOCK.relative_to(ROOT)}: a pin changed. Run "
                         "`python scripts/build_lite.py --lock` to record it, and review that file's change")
    if actual != expected:
        path.unlink()
        raise BuildError(f"{path.name}: its sha256 is {actual}, not {expected} as {DOWNLOADS_LOCK.relative_to(ROOT)} "
                         "pins; the file was removed from the cache")


def fetch_wheels(pins: dict[str, str], cache: Path, lock: dict[str, str] | None = None,
                 record: bool = False) -> dict[str, Path]:
    """Each pinned package's pure-Python wheel, from the cache or PyPI (made from
    the source release for :data:`PURE_FROM_SOURCE`), each download checked
    against ``lock`` (default: ``lite/downloads.sha256``; ``record`` adds what it
    lacks). Returns name -> wheel."""
    lock = read_lock() if lock is None else lock
    wheels_dir, sources_dir = cache / "wheels", cache / "sources"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    sources_dir.mkdir(parents=True, exist_ok=True)
    found, missing, from_source = {}, [], []
    for name, version in sorted(pins.items()):
        wheel = cached_file(wheels_dir, name, version, (".whl",))
        if name in PURE_FROM_SOURCE:
            from_source.append(name)  # its source release is checked (the wheel made from it is not a download)
        elif wheel:
            found[name] = wheel
        else:
            missing.append(name)
    if missing:
        print(f"==> downloading {len(missing)} wheels from PyPI", flush=True)
        done = pip("download", "--no-deps", "--only-binary=:all:", "--platform", "any", "--implementation", "py",
                   "--python-version", BROWSER_PYTHON, "-d", str(wheels_dir), *(f"{n}=={pins[n]}" for n in missing))
        if done.returncode != 0:
            raise BuildError("pip could not download the site's wheels (no network to PyPI, or a package without a "
                             f"pure-Python wheel at that version):\n{done.stderr.strip()}")
        for name in missing:
            wheel = cached_file(wheels_dir, name, pins[name], (".whl",))
            if not wheel:
                raise BuildError(f"{name}=={pins[name]}: pip downloaded no wheel for it")
            found[name] = wheel
    for wheel in found.values():
        check_download(wheel, lock, record)
    for name in from_source:
        sdist = cached_file(sources_dir, name, pins[name], (".tar.gz", ".zip"))
        if not sdist:
            print(f"==> downloading the source release of {name}=={pins[name]}", flush=True)
            # --no-binary for this package only: its build tools (setuptools, Cython) come as wheels.
            done = pip("download", "--no-deps", f"--no-binary={name}", "-d", str(sources_dir),
                       f"{name}=={pins[name]}")
            sdist = cached_file(sources_dir, name, pins[name], (".tar.gz", ".zip"))
            if done.returncode != 0 or not sdist:
                raise BuildError(f"pip could not download the source release of {name}=={pins[name]}:\n{done.stderr.strip()}")
        check_download(sdist, lock, record)
        made = cached_file(wheels_dir, name, pins[name], (".whl",))
        found[name] = made or pure_wheel_from_source(sdist, PURE_FROM_SOURCE[name], wheels_dir)
    for wheel in found.values():
        if not wheel.name.endswith("-none-any.whl"):
            raise BuildError(f"{wheel.name} is not a pure-Python wheel")
    return found


def _pinned(file_name: str, pins: dict[str, str]) -> bool:
    """Whether a downloaded file is the release of a package ``pins`` names."""
    base = re.sub(r"[-_.]+", "_", file_name).lower()
    return any(base.startswith(f"{re.sub(r'[-_.]+', '_', name).lower()}_{re.sub(r'[-_.]+', '_', version)}_")
               for name, version in pins.items())


def write_wheel(path: Path, dist: str, version: str, files: dict[str, bytes], metadata: bytes) -> Path:
    """A wheel at ``path`` holding ``files`` (archive name -> bytes), with its dist-info."""
    info = f"{dist}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = metadata
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: labkit build_lite\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")
    rows = []
    for name, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append((name, f"sha256={digest}", str(len(data))))
    rows.append((f"{info}/RECORD", "", ""))
    record = io.StringIO()
    csv.writer(record, lineterminator="\n").writerows(rows)
    files[f"{info}/RECORD"] = record.getvalue().encode()
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    tmp.replace(path)
    return path


def pure_wheel_from_source(sdist: Path, packages: tuple[str, ...], out: Path) -> Path:
    """A ``py3-none-any`` wheel of ``packages`` (their Python files only) from a source release."""
    with tarfile.open(sdist) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        pkg_info = next(n for n in members if n.count("/") == 1 and n.endswith("/PKG-INFO"))
        metadata = tar.extractfile(members[pkg_info]).read()
        headers = HeaderParser().parsestr(metadata.decode())
        dist, version = re.sub(r"[-.]+", "_", headers["Name"]), headers["Version"]
        files = {}
        for package in packages:
            inits = sorted((n for n in members if n.endswith(f"/{package}/__init__.py")), key=len)
            if not inits:
                raise BuildError(f"{sdist.name}: no {package}/ package in it")
            root = inits[0][: -len("__init__.py")]
            for name, member in members.items():
                if name.startswith(root) and name.endswith((".py", ".pyi", "py.typed")):
                    files[f"{package}/{name[len(root):]}"] = tar.extractfile(member).read()
    return write_wheel(out / f"{dist}-{version}-py3-none-any.whl", dist, version, files, metadata)


def labkit_wheel(out: Path, extra: dict[str, bytes] | None = None) -> Path:
    """labkit, packed from this repository (its Python files and py.typed), as a pure wheel,
    with ``extra`` files (archive name -> bytes: the diagrams' engine and icons)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    files = {path.relative_to(ROOT).as_posix(): path.read_bytes() for path in sorted((ROOT / "labkit").rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    files.update(extra or {})
    metadata = (f"Metadata-Version: 2.1\nName: labkit\nVersion: {project['version']}\n"
                f"Summary: {project['description']}\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    return write_wheel(out / f"labkit-{project['version']}-py3-none-any.whl", "labkit", project["version"], files, metadata)


def services() -> set[str]:
    """The services :data:`SERVICES` names (botocore's names)."""
    return {line.split("#", 1)[0].strip() for line in SERVICES.read_text(encoding="utf-8").splitlines()} - {""}


def fresh(target: Path, wheel: Path, inputs: tuple[Path, ...] = ()) -> bool:
    """Whether ``target`` exists and is newer than ``wheel``, this script and every path of ``inputs``."""
    newest = max(path.stat().st_mtime for path in (wheel, Path(__file__), *inputs))
    return target.exists() and target.stat().st_mtime >= newest


def repack(wheel: Path, target: Path, keep: Callable[[str], bool], inputs: tuple[Path, ...] = (),
           add: dict[str, bytes] | None = None) -> Path:
    """``wheel`` written again at ``target``: the files ``keep`` accepts, and ``add``, with a new
    RECORD. A ``target`` that is :func:`fresh` is used as it is."""
    if fresh(target, wheel, inputs):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        kept = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/") and keep(n)}
    kept.update(add or {})
    info = next(n.split("/")[0] for n in kept if n.endswith(".dist-info/METADATA"))
    metadata = kept.pop(f"{info}/METADATA")
    for name in [n for n in kept if n.startswith(f"{info}/") and n.endswith(("/RECORD", "/WHEEL"))]:
        del kept[name]
    dist, version = info.removesuffix(".dist-info").rsplit("-", 1)
    return write_wheel(target, dist, version, kept, metadata)


def trim_botocore(wheel: Path, out: Path) -> Path:
    """botocore's wheel with only the service models of :data:`SERVICES`
    (and every file of botocore/data that belongs to no one service: endpoints, partitions...)."""
    keep = services()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    models = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") >= 3}
    unknown = keep - models
    if unknown:
        raise BuildError(f"lite/services.txt names services botocore does not have: {sorted(unknown)}")
    return repack(wheel, out / wheel.name, lambda n: not (n.startswith("botocore/data/") and n.count("/") >= 3
                                                          and n.split("/")[2] not in keep), (SERVICES,))


def trim_jedi(wheel: Path, out: Path) -> Path:
    """jedi's wheel without :data:`JEDI_LEFT_OUT` (four fifths of its files)."""
    return repack(wheel, out / wheel.name, lambda n: not n.startswith(JEDI_LEFT_OUT))


class _MotoImports(ast.NodeVisitor):
    """The moto packages (``moto.<name>``) one module of moto imports, wherever in it
    (functions too), except under ``if TYPE_CHECKING:``."""

    def __init__(self, package: list[str]) -> None:
        self.package, self.found = package, set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == "moto" and len(parts) > 1:
                self.found.add(parts[1])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.package[: len(self.package) - node.level + 1] if node.level else []
        parts = base + (node.module.split(".") if node.module else [])
        if parts[:1] != ["moto"]:
            return
        self.found.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])


def moto_packages(files: dict[str, bytes], wanted: set[str]) -> set[str]:
    """The packages of moto (``files``: archive name -> bytes) that ``wanted`` and moto's own
    top-level modules import, directly or through each other."""
    packages = {n.split("/")[1] for n in files if n.startswith("moto/") and n.count("/") >= 2}
    top = [n for n in files if n.startswith("moto/") and n.count("/") == 1 and n.endswith(".py")]
    kept, todo = set(), set(wanted)
    sources = list(top)
    while sources or todo:
        for name in sources:
            parts = name.removesuffix(".py").split("/")
            visitor = _MotoImports(parts[:-1])
            visitor.visit(ast.parse(files[name], filename=name))
            todo |= (visitor.found & packages) - kept
        sources = []
        for package in sorted(todo):
            kept.add(package)
            sources += [n for n in files if n.startswith(f"moto/{package}/") and n.endswith(".py")]
        todo = set()
    return kept


def trim_moto(wheel: Path, out: Path) -> Path:
    """moto's wheel with the backends of :data:`SERVICES` and what they import
    (:func:`moto_packages`); moto's top-level modules and its dist-info stay."""
    if fresh(out / wheel.name, wheel, (SERVICES,)):  # reading moto's imports takes seconds
        return out / wheel.name
    wanted = {MOTO_PACKAGES.get(name, name.replace("-", "")) for name in services()}
    with zipfile.ZipFile(wheel) as archive:
        files = {n: archive.read(n) for n in archive.namelist() if n.endswith(".py")}
    packages = {n.split("/")[1] for n in files if n.startswith("moto/") and n.count("/") >= 2}
    if wanted - packages:
        raise BuildError(f"lite/services.txt names services moto has no backend for: {sorted(wanted - packages)} "
                         f"(moto's package for a botocore name that differs goes in MOTO_PACKAGES)")
    kept = moto_packages(files, wanted)
    return repack(wheel, out / wheel.name, lambda n: not n.startswith("moto/") or n.count("/") == 1
                  or n.split("/")[1] in kept, (SERVICES,))


#: Run by Node.js: starts the site's Pyodide (``indexURL``) and compiles every Python file under each
#: folder of ``root`` (one unpacked wheel each) to bytecode in ``__pycache__``, as checked-hash
#: ``.pyc`` files (checked against the source's hash, not its date, which unpacking does not keep:
#: a learner who edits labkit's source in the page gets the edit), naming the files as they will
#: be in the page (site-packages) for tracebacks.
COMPILE_SCRIPT = r"""
import { pathToFileURL } from "node:url";
const [indexURL, root] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(indexURL + "/pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: indexURL + "/" });
pyodide.FS.mkdirTree("/wheels");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root }, "/wheels");
pyodide.runPython(`
import compileall, os, py_compile, site
for name in sorted(os.listdir("/wheels")):
    compileall.compile_dir(f"/wheels/{name}", ddir=site.getsitepackages()[0], quiet=1, workers=1,
                           invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
`);
"""


#: The wheels that keep their Python source beside the bytecode: labkit, which learners read
#: (``lab.sqs.receive??``) and whose lines their tracebacks show. The others ship bytecode only,
#: as Pyodide's own standard library does: half the bytes for the page to unpack.
SOURCE_KEPT = ("labkit",)


def _sourceless(compiled: dict[str, bytes]) -> tuple[dict[str, bytes], set[str]]:
    """``__pycache__/m.cpython-3XX.pyc`` files renamed to ``m.pyc`` beside their source (which
    Python imports without a source); returns them and the sources they replace."""
    moved, replaced = {}, set()
    for name, data in compiled.items():
        folder, _, file = name.rpartition("__pycache__/")
        module = file.split(".", 1)[0]
        moved[f"{folder}{module}.pyc"] = data
        replaced.add(f"{folder}{module}.py")
    return moved, replaced


def precompile(wheels: dict[str, Path], pyodide_dir: Path, cache: Path) -> dict[str, Path]:
    """Each wheel with its Python files compiled to bytecode by the site's own Pyodide in
    Node.js (:data:`COMPILE_SCRIPT`): the page then imports boto3, moto and IPython without
    compiling them first. The wheels of :data:`SOURCE_KEPT` get ``__pycache__`` beside their
    source; the others get ``.pyc`` files in place of it (a file that did not compile stays as
    source). Compiled wheels are cached by the wheel's, Pyodide's and this script's contents (``cache``); what
    is not used any more is removed."""
    node = shutil.which("node")
    if node is None:
        raise BuildError("Node.js is missing: the build compiles the site's Python files with Pyodide in Node.js "
                         "(18 or newer). `make lite` installs it with apt-get where it can; or run `sudo apt-get install nodejs`")
    runtime = hashlib.sha256(Path(__file__).read_bytes() + (pyodide_dir / "pyodide.asm.wasm").read_bytes()
                             + (pyodide_dir / "python_stdlib.zip").read_bytes())
    targets = {}
    for name, wheel in wheels.items():
        key = runtime.copy()
        key.update(wheel.read_bytes())
        targets[name] = cache / key.hexdigest()[:20] / wheel.name
    todo = {name: wheel for name, wheel in wheels.items() if not targets[name].exists()}
    if todo:
        print(f"==> compiling {len(todo)} wheels to bytecode with Pyodide in Node.js", flush=True)
        with tempfile.TemporaryDirectory(prefix="labkit-pyc-") as tmp:
            root = Path(tmp) / "wheels"
            for name, wheel in todo.items():
                with zipfile.ZipFile(wheel) as archive:
                    archive.extractall(root / name)
            (Path(tmp) / "compile.mjs").write_text(COMPILE_SCRIPT, encoding="utf-8")
            done = subprocess.run([node, str(Path(tmp) / "compile.mjs"), str(pyodide_dir), str(root)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise BuildError(f"compiling the wheels with Pyodide in Node.js failed (Node.js 18 or newer is "
                                 f"needed; this is {subprocess.run([node, '--version'], capture_output=True, text=True).stdout.strip()}):\n"
                                 f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            for name, wheel in todo.items():
                folder = root / name
                compiled = {path.relative_to(folder).as_posix(): path.read_bytes()
                            for path in sorted(folder.rglob("__pycache__/*.pyc"))}
                if not compiled and any(folder.rglob("*.py")):
                    raise BuildError(f"{wheel.name}: Pyodide compiled none of its Python files:\n{done.stdout[-2000:]}")
                if name in SOURCE_KEPT:
                    repack(wheel, targets[name], lambda n: True, add=compiled)
                else:
                    moved, replaced = _sourceless(compiled)
                    repack(wheel, targets[name], lambda n, dropped=replaced: n not in dropped, add=moved)
    used = {target.parent for target in targets.values()}
    for folder in cache.glob("*"):
        if folder not in used:
            shutil.rmtree(folder, ignore_errors=True)
    return targets


def kernel_shims() -> dict[str, Path]:
    """The kernel's own wheels from jupyterlite-pyodide-kernel's labextension."""
    try:
        import jupyterlite_pyodide_kernel  # noqa: F401
    except ImportError as error:
        raise BuildError("jupyterlite is not installed: run `make lite` (it installs requirements-lite.txt), or "
                         "`.venv/bin/pip install -r requirements-lite.txt`") from error
    folder = Path(sys.prefix) / "share/jupyter/labextensions/@jupyterlite/pyodide-kernel-extension/static/pypi"
    shims = {}
    for stem in KERNEL_SHIMS:
        matches = sorted(folder.glob(f"{stem}-*-py3-none-any.whl"))
        if not matches:
            raise BuildError(f"{folder}: no {stem} wheel (reinstall jupyterlite-pyodide-kernel)")
        shims[normalize(stem)] = matches[-1]
    return shims


def wheel_entry(wheel: Path) -> dict:
    """A pyodide-lock.json entry for a pure wheel placed next to the lock file."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(archive.read(f"{info}/METADATA").decode())
        if f"{info}/top_level.txt" in names:
            imports = archive.read(f"{info}/top_level.txt").decode().split()
        else:
            imports = sorted({re.sub(r"\.pyc?$", "", n.split("/")[0]) for n in names
                              if not n.split("/")[0].endswith((".dist-info", ".data"))
                              and (n.count("/") >= 1 or n.endswith((".py", ".pyc")))})
    return {"name": normalize(headers["Name"]), "version": headers["Version"], "file_name": wheel.name,
            "install_dir": "site", "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(), "package_type": "package",
            "imports": [i for i in imports if i.isidentifier()], "depends": [], "unvendored_tests": False,
            "shared_library": False}


# ----------------------------------------------------------------- notebooks


def site_notebooks(extra: list[Path], only_extra: bool) -> dict[str, dict]:
    """The site's notebooks: site path -> notebook (lite copy). Labs are their student copies."""
    import nbformat

    from labkit.grading.book import is_lab, notebook_editions
    from labkit.grading.release import read_notebook, student_copy

    chosen: dict[str, nbformat.NotebookNode] = {}
    if not only_extra:
        for folder in FOLDERS:
            for path in sorted((ROOT / folder).glob("*.ipynb")):
                nb = read_notebook(path)
                if "browser" not in notebook_editions(nb):
                    continue
                chosen[f"{folder}/{path.name}"] = student_copy(nb, str(path)) if is_lab(nb) else nb
    for path in extra:
        chosen[path.name] = read_notebook(path)
    copies = {}
    for site_path, nb in chosen.items():
        nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
        nb.metadata["kernelspec"] = dict(LITE_KERNELSPEC)
        copies[site_path] = nb
    return copies


# ----------------------------------------------------------------- the site


def jupyterlite_json(packages: list[str]) -> dict:
    return {"jupyter-lite-schema-version": 0, "jupyter-config-data": {
        "appName": APP_NAME,
        # window.jupyterapp: the browser test drives the notebooks through it.
        "exposeAppInBrowser": True,
        "litePluginSettings": {KERNEL_PLUGIN: {
            "disablePyPIFallback": True,
            "loadPyodideOptions": {"packages": packages},
        }},
    }}


def leave_out_extensions(site: Path) -> None:
    """Remove :data:`LEFT_OUT_EXTENSIONS` from the built site and from its jupyter-lite.json."""
    config_path = site / "jupyter-lite.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    data = config["jupyter-config-data"]
    data["federated_extensions"] = [e for e in data.get("federated_extensions", []) if e["name"] not in LEFT_OUT_EXTENSIONS]
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name in LEFT_OUT_EXTENSIONS:
        shutil.rmtree(site / "extensions" / name, ignore_errors=True)


def build(out: Path, extra: list[Path], only_extra: bool, cache: Path = CACHE, record: bool = False) -> Path:
    """Build the site into ``out`` (``record``: write the hashes of new downloads into the lock, see ``--lock``)."""
    import nbformat

    pins = wanted_wheels()
    notebooks = site_notebooks(extra, only_extra)
    if not notebooks:
        raise BuildError("no notebook declares the browser edition (metadata labkit.editions); nothing to publish")
    archive = fetch_pyodide(cache)
    lock = read_lock()
    wheels = {**fetch_wheels(pins, cache, lock, record), **kernel_shims()}
    if record:
        used = {path.name for path in (cache / "wheels").glob("*") if path.name in lock}
        used |= {path.name for path in (cache / "sources").glob("*") if path.name in lock}
        pinned = {name for name in lock if name in used and _pinned(name, pins)}
        write_lock({name: digest for name, digest in lock.items() if name in pinned})
    for name, trim in (("botocore", trim_botocore), ("moto", trim_moto), ("jedi", trim_jedi)):
        if name in wheels:
            wheels[name] = trim(wheels[name], cache / "trimmed")
    wheels["labkit"] = labkit_wheel(cache / "labkit", diagram_assets(cache))

    with tempfile.TemporaryDirectory(prefix="labkit-lite-") as tmp:
        lite_dir = Path(tmp)
        pyodide_dir = lite_dir / "static" / "pyodide"
        lock = place_pyodide(archive, pyodide_dir)
        wheels = precompile(wheels, pyodide_dir, cache / "compiled")
        entries = {}
        for _, wheel in sorted(wheels.items()):
            shutil.copy2(wheel, pyodide_dir / wheel.name)
            entry = wheel_entry(pyodide_dir / wheel.name)
            entries[entry["name"]] = entry
        (pyodide_dir / "pyodide-lock.json").write_text(json.dumps({"info": lock["info"], "packages": entries}, indent=1),
                                                       encoding="utf-8")
        contents = lite_dir / "files"
        for site_path, nb in notebooks.items():
            target = contents / site_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(jupyterlite_json(sorted(entries)), indent=1),
                                                    encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        print(f"==> jupyter lite build: {len(notebooks)} notebooks, {len(entries)} packages", flush=True)
        done = subprocess.run([sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(lite_dir),
                               "--contents", str(contents), "--output-dir", str(out), "--no-sourcemaps",
                               "--no-unused-shared-packages", "--apps", "lab", "--apps", "notebooks",
                               "--disable-addons", "piplite"],
                              cwd=lite_dir, capture_output=True, text=True,
                              env={**os.environ, "JUPYTERLITE_NO_LIBARCHIVE": "1"})
        if done.returncode != 0:
            raise BuildError(f"jupyter lite build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    leave_out_extensions(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"==> the browser edition is in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
          f"({size / 1e6:.1f} MB); `python scripts/build_lite.py --serve 8000` serves it", flush=True)
    return out


def serve(site: Path, port: int) -> None:
    """Serve a built site on 127.0.0.1 (with the types browsers insist on for ES modules and WebAssembly)."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

    if not (site / "lab" / "index.html").exists():
        raise BuildError(f"no site in {site}: run `make lite` first")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=str(site)))
    print(f"==> open http://127.0.0.1:{server.server_address[1]}/lab/index.html (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the site's folder (default: _build/lite)")
    parser.add_argument("--notebook", type=Path, action="append", default=[],
                        help="one more notebook for the site's root (the tests' smoke notebook)")
    parser.add_argument("--only-extra", action="store_true", help="publish only the --notebook notebooks")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve the built site on 127.0.0.1:PORT (no build)")
    parser.add_argument("--lock", action="store_true",
                        help="record the SHA-256 of downloads lite/downloads.sha256 lacks (after changing a pin)")
    args = parser.parse_args(argv)
    try:
        if args.serve is not None:
            serve(args.out.resolve(), args.serve)
            return 0
        build(args.out.resolve(), [p.resolve() for p in args.notebook], args.only_extra, record=args.lock)
    except BuildError as error:
        print(f"make lite: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
