"""Run a notebook's code cells in a CPython process that behaves like Pyodide.

The browser edition runs labkit under Pyodide, where a process cannot do what
a local kernel takes for granted. This harness takes the same things away from
an ordinary CPython process, so that ``make test`` proves, cheaply and without
a browser, that a notebook declaring the browser edition never needs them:

- browser mode is on (``LABKIT_BROWSER_MODE=1``; under Pyodide labkit sees
  ``sys.platform == "emscripten"`` itself);
- ``threading.Thread.start`` raises ``RuntimeError("can't start new thread")``;
- ``socket.socket.bind``, ``listen``, ``connect`` and ``connect_ex`` raise
  ``OSError(138)`` (what Emscripten answers: no sockets in a browser tab);
- ``subprocess.Popen``, ``os.system`` and ``os.fork`` fail, and ``PATH`` holds
  no program (so ``dot`` is absent);
- ``import cryptography`` and ``import trustme`` raise ``ImportError``: the
  site ships no wasm build of them; ``resource.getrusage`` and
  ``time.thread_time`` are gone, as in Pyodide's modules (``/proc`` stays: Pyodide has none, and
  ``tests/services/test_browser_inline.py`` covers code that reads it).

A Jupyter kernel starts threads of its own, so the cells run without one: in
IPython's ``InteractiveShell`` with its history thread off, which gives them
``display``, the rich display hooks and the shell's error reporting. Nothing
here uses the network.

Run it as ``python tests/lite/pyodide_like.py NOTEBOOK``; it prints one JSON
line per code cell on stdout and the top-level modules the cells imported,
then exits 0 if every cell ran, 1 if one failed (the run stops at the first
failure, as a browser user would).
:func:`run` starts that process and returns what it printed.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Errno 138 is what Pyodide's Emscripten answers for a socket operation it cannot do.
EMSCRIPTEN_ENOTSUP = 138

#: The modules the browser site does not have.
MISSING_MODULES = ("cryptography", "trustme")

#: A cell runs at most this long (seconds) before the run is called stuck.
TIMEOUT = 600


# --- inside the restricted process --------------------------------------------
class _Missing:
    """A meta path finder that makes ``import <name>`` fail as it does when a
    package is not installed."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (the browser edition does not ship it)", name=fullname)
        return None


def restrict() -> None:
    """Take away from this process what Pyodide does not have. Irreversible."""
    import _thread
    import socket
    import threading

    for name in list(sys.modules):
        if name.split(".", 1)[0] in MISSING_MODULES:
            del sys.modules[name]
    sys.meta_path.insert(0, _Missing(MISSING_MODULES))

    def no_thread(*args: object, **kwargs: object) -> None:
        raise RuntimeError("can't start new thread")

    threading.Thread.start = no_thread  # type: ignore[method-assign]
    _thread.start_new_thread = no_thread  # type: ignore[assignment]
    if hasattr(_thread, "start_joinable_thread"):
        _thread.start_joinable_thread = no_thread  # type: ignore[attr-defined]
    _thread.start_new = no_thread  # type: ignore[attr-defined]

    def no_socket(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(EMSCRIPTEN_ENOTSUP, "Operation not supported (no sockets in a browser tab)")

    for method in ("bind", "listen", "connect", "connect_ex"):
        setattr(socket.socket, method, no_socket)

    def no_process(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented (no processes in a browser tab)")

    subprocess.Popen.__init__ = no_process  # type: ignore[method-assign]
    os.system = no_process  # type: ignore[assignment]
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve"):
        if hasattr(os, name):
            delattr(os, name)
    import resource

    if hasattr(resource, "getrusage"):  # Pyodide's resource module has no getrusage
        del resource.getrusage
    import time

    for name in ("thread_time", "thread_time_ns"):  # nor has its time module (one thread: no thread clock)
        if hasattr(time, name):
            delattr(time, name)
    empty = tempfile.mkdtemp(prefix="pyodide-like-path-")
    os.environ["PATH"] = empty


def _shell() -> object:
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(config=config)
    builtins.display = __import__("IPython.display", fromlist=["display"]).display  # type: ignore[attr-defined]
    return shell


def _main(path: str) -> int:
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]  # plain json: the harness imports little
    os.chdir(Path(path).resolve().parent)  # a notebook runs in its folder, as in JupyterLite
    shell = _shell()
    restrict()
    before = set(sys.modules)
    failed = False
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        result = shell.run_cell(source, store_history=False)  # type: ignore[attr-defined]
        error = result.error_before_exec or result.error_in_exec
        record = {"cell": index, "ok": error is None}
        if error is not None:
            record["error"] = f"{type(error).__name__}: {error}"
            record["source"] = source[:300]
        sys.__stdout__.write("\n@@cell " + json.dumps(record) + "\n")
        sys.__stdout__.flush()
        if error is not None:
            failed = True
            break
    imported = sorted({name.split(".", 1)[0] for name in set(sys.modules) - before})
    sys.__stdout__.write("\n@@modules " + json.dumps(imported) + "\n")
    return 1 if failed else 0


# --- from the test ---------------------------------------------------------------
@dataclass
class Run:
    """What one restricted run printed."""

    notebook: Path
    returncode: int
    cells: list[dict] = field(default_factory=list)
    output: str = ""
    #: The top-level modules the cells imported (beyond what the harness and IPython had imported).
    modules: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.cells) and all(cell["ok"] for cell in self.cells)

    def failure(self) -> str:
        """A readable account of the first failure (the tail of the output with it)."""
        bad = [cell for cell in self.cells if not cell["ok"]]
        head = f"{self.notebook.name}: " + (f"cell {bad[0]['cell']} failed: {bad[0]['error']}" if bad
                                             else f"exit status {self.returncode}")
        return head + "\n--- output (tail) ---\n" + self.output[-6000:]


def run(notebook: Path, *, env: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Run:
    """Run ``notebook`` in a fresh restricted process (browser mode on, strict checks)."""
    environ = {**os.environ, "LABKIT_BROWSER_MODE": "1", "LABKIT_STRICT": "1", "PYTHONUNBUFFERED": "1",
               "MPLBACKEND": "agg", **(env or {})}
    environ.pop("LABKIT_REQUIRE_GRAPHVIZ", None)  # the browser has no Graphviz: diagrams fall back, by design
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
    process = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(notebook)],
                             capture_output=True, text=True, env=environ, timeout=timeout, cwd=ROOT)
    output = process.stdout + process.stderr
    cells = [json.loads(line[len("@@cell "):]) for line in process.stdout.splitlines() if line.startswith("@@cell ")]
    modules = [json.loads(line[len("@@modules "):]) for line in process.stdout.splitlines() if line.startswith("@@modules ")]
    return Run(Path(notebook), process.returncode, cells, output, modules[-1] if modules else [])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
