"""The grader's agent inside a learner's kernel.

This module is not imported by the kernel: the grader reads this file's text
(:func:`labkit.grading.runner.agent_source`) and sends it with every request,
as part of an IPython ``user_expressions`` entry that executes it in a private,
fresh namespace and evaluates one call, e.g. ``guard(key, nonce, source, file)``.
The learner's code can therefore neither see these functions in its namespace
nor replace them between requests. The agent's state (the snapshot taken before
any learner code ran) lives in a module under a random name in ``sys.modules``.

The requests, in the order the runner sends them:

- :func:`bootstrap` once, before the first cell: set the memory limit and take
  the snapshot;
- :func:`guard` before each check cell: :func:`restore` what the learner's code
  may have changed, and install a fresh copy of :mod:`labkit.check` that
  records every check;
- :func:`collect` after each check cell: restore again, verify that the fresh
  checker is :func:`intact` (:func:`seal` listed its functions) and return its
  records, tagged with the request's one-time nonce.

Every answer is a JSON string, so that what travels back is plain data.

Because it runs in the learner's process, this code imports only the standard
library and IPython, and nothing of labkit (the learner may have replaced it);
after :func:`restore` it uses the modules as they were before any learner code
ran. Its annotations name built-in types only, so they need no import.
"""

from __future__ import annotations

import builtins
import json
import sys
import threading
import types

from IPython import get_ipython

#: The checker's own imports and the package it lives in: restored before each check cell.
MODULES = ("labkit", "contextlib", "dataclasses", "json", "os", "signal", "threading", "traceback", "html",
           "types", "typing", "collections.abc", "IPython.display", "importlib", "functools")
#: Changes to these are reported as tampering; the others are only undone.
WATCHED = ("labkit", "contextlib", "dataclasses", "json", "IPython.display")
#: IPython's lists of code rewriters (restored; a change is tampering).
TRANSFORMERS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
#: IPython events whose callbacks could rewrite or skip a check cell.
WATCHED_EVENTS = ("pre_execute", "pre_run_cell")
#: What the checker writes through and reports errors with.
SYS_NAMES = ("stdout", "stderr", "displayhook", "excepthook")
#: Builtins IPython itself rebinds after every cell (the last results).
IGNORED_BUILTINS = ("_", "__", "___")
MISSING = object()


def bootstrap(key: str, memory_bytes: int) -> str:
    """Limit the kernel's memory and snapshot everything :func:`restore` puts back.

    Args:
        key: the name of the module in ``sys.modules`` that keeps the snapshot.
        memory_bytes: the address-space limit; 0 for none.
    """
    import importlib

    if memory_bytes:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    shell = get_ipython()
    modules = {}
    for name in MODULES:
        module = importlib.import_module(name)
        modules[name] = (module, dict(vars(module)))
    formatters = shell.display_formatter.formatters
    state = types.SimpleNamespace(
        modules=modules,
        builtins_module=builtins,
        get_ipython=get_ipython,
        builtins=dict(vars(builtins)),
        sys={name: getattr(sys, name) for name in SYS_NAMES},
        transformer_manager=shell.input_transformer_manager,
        transformers={name: list(getattr(shell, name)) for name in TRANSFORMERS},
        events={name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        display_formatter=shell.display_formatter,
        formatters={mime: (f, dict(f.type_printers), dict(f.deferred_printers)) for mime, f in formatters.items()},
        check_module=sys.modules.get("labkit.check"),
        installed=None,
        pending=None,
    )
    holder = types.ModuleType(key)
    holder.state = state  # type: ignore[attr-defined]
    sys.modules[key] = holder
    return json.dumps({"ok": True})


def restore(state: types.SimpleNamespace) -> list[str]:
    """Undo changes to what the checker relies on; name the suspicious ones."""
    changed = []
    current = vars(state.builtins_module)
    for name, value in state.builtins.items():
        if name not in IGNORED_BUILTINS and current.get(name, MISSING) is not value:
            changed.append("builtins." + name)
            current[name] = value
    for name, (module, snapshot) in state.modules.items():
        if sys.modules.get(name) is not module:
            changed.append(f"sys.modules[{name!r}]")
            sys.modules[name] = module
        namespace = vars(module)
        for attr, value in snapshot.items():
            if namespace.get(attr, MISSING) is not value:
                if name in WATCHED:
                    changed.append(name + "." + attr)
                namespace[attr] = value
    # From here on, this code uses the modules as they were before any learner code ran.
    globals().update({name: state.modules[name][0] for name in ("json", "threading", "types")})
    globals().update(builtins=state.builtins_module, get_ipython=state.get_ipython)
    shell = get_ipython()
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)  # type: ignore[arg-type]
    threading.setprofile(None)  # type: ignore[arg-type]
    for name, value in state.sys.items():
        if getattr(sys, name) is not value:
            changed.append("sys." + name)
            setattr(sys, name, value)
    if sys.modules.get("labkit.check") is not state.check_module:
        changed.append("sys.modules['labkit.check']")
        sys.modules["labkit.check"] = state.check_module
    if state.installed is not None and not intact(*state.installed):
        changed.append("labkit.check")
    package = state.modules["labkit"][0]
    if shell.user_ns.get("labkit", package) is not package:
        changed.append("the name labkit")
    shell.user_ns["labkit"] = package
    if shell.input_transformer_manager is not state.transformer_manager:
        changed.append("IPython input_transformer_manager")
        shell.input_transformer_manager = state.transformer_manager
    for name, saved in state.transformers.items():
        now = getattr(shell, name)
        if len(now) != len(saved) or any(a is not b for a, b in zip(now, saved, strict=True)):
            changed.append("IPython " + name)
        now[:] = saved
    for name, saved in state.events.items():
        now = shell.events.callbacks.setdefault(name, [])
        if name in WATCHED_EVENTS and (len(now) != len(saved) or any(a is not b for a, b in zip(now, saved, strict=True))):
            changed.append("IPython event " + name)
        now[:] = saved
    if shell.display_formatter is not state.display_formatter:
        changed.append("IPython display_formatter")
        shell.display_formatter = state.display_formatter
    for mime, (formatter, types_, deferred) in state.formatters.items():
        state.display_formatter.formatters[mime] = formatter
        formatter.type_printers.clear()
        formatter.type_printers.update(types_)
        formatter.deferred_printers.clear()
        formatter.deferred_printers.update(deferred)
    return changed


def seal(module: types.ModuleType) -> list[tuple]:
    """Every function and class of the fresh checker, to verify nothing was swapped.

    Each item is ``(owner, name, value, code)``: where the value lives, under
    which name, the value itself, and its code object (None for a class).
    """
    items: list[tuple] = []
    for name, value in list(vars(module).items()):
        if isinstance(value, types.FunctionType):
            items.append((module, name, value, value.__code__))
            wrapped = getattr(value, "__wrapped__", None)
            if isinstance(wrapped, types.FunctionType):
                items.append((value, "__wrapped__", wrapped, wrapped.__code__))
        elif isinstance(value, type) and value.__module__ == module.__name__:
            items.append((module, name, value, None))
            for attr, member in list(vars(value).items()):
                if isinstance(member, types.FunctionType):
                    items.append((value, attr, member, member.__code__))
    return items


def intact(items: list[tuple], check: list[tuple]) -> bool:
    """Whether every sealed item, and every closure cell of the recording
    ``check`` wrapper (``(cell, contents)`` pairs), is still what it was."""
    for owner, name, value, code in items:
        if isinstance(owner, (type, types.ModuleType)):
            now = vars(owner).get(name, MISSING)
        else:
            now = getattr(owner, name, MISSING)
        if now is not value or (code is not None and value.__code__ is not code):
            return False
    return all(cell.cell_contents is content for cell, content in check)


def guard(key: str, nonce: str, source: str, filename: str) -> str:
    """Before a check cell: restore, then install a fresh checker that records every check.

    Args:
        key: where :func:`bootstrap` keeps the snapshot.
        nonce: a one-time value; :func:`collect` hands back the records only for it.
        source: the text of :mod:`labkit.check`, as the grader read it.
        filename: the name the fresh checker's code is compiled under.
    """
    state = sys.modules[key].state
    state.pending = None
    changed = restore(state)
    fresh = types.ModuleType("labkit.check")
    fresh.__file__ = filename
    sys.modules["labkit.check"] = fresh
    exec(compile(source, filename, "exec"), vars(fresh))  # noqa: S102  (the checker, from the grader's text)
    records: list[list] = []
    run_check = fresh.Exercise.check

    def check(self, *args, **kwargs):  # Exercise.check's own signature, recorded
        result = run_check(self, *args, **kwargs)
        records.append([self.id, self.title, result.name, bool(result.passed), float(result.points),
                        str(result.expected), str(result.found), str(result.hint)])
        return result

    fresh.Exercise.check = check
    package, snapshot = state.modules["labkit"]
    for name in ("exercise", "between", "contains", "one_of", "satisfies"):
        setattr(package, name, getattr(fresh, name))
        snapshot[name] = getattr(fresh, name)
    package.check = snapshot["check"] = state.check_module = fresh
    closure = [(cell, cell.cell_contents) for cell in check.__closure__ or ()]
    state.installed = (seal(fresh), closure)
    state.pending = (nonce, records) + state.installed
    return json.dumps({"nonce": nonce, "changed": changed})


def collect(key: str, nonce: str) -> str:
    """After a check cell: the records of the fresh checker, if it is still intact."""
    state = sys.modules[key].state
    pending, state.pending = state.pending, None
    changed = restore(state)
    if pending is None or pending[0] != nonce:
        return json.dumps({"nonce": nonce, "intact": False, "changed": changed, "records": []})
    _, records, items, closure = pending
    verdict = intact(items, closure)
    # What happened during the cell is reported now; later changes are measured from here.
    state.installed = (seal(state.check_module), [(cell, cell.cell_contents) for cell, _ in closure])
    return json.dumps({"nonce": nonce, "intact": verdict, "changed": changed, "records": records})
