"""The grader's agent (labkit.grading.agent), alone: how it is shipped, and what it answers.

The adversarial submissions in test_grade.py prove it end to end in real
kernels; these tests look at its pieces. The requests go through an IPython
shell's ``user_expressions``, as a kernel evaluates them, in a subprocess
(restoring a snapshot rewrites builtins and ``sys``, and clears trace functions).
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

from labkit.grading import agent
from labkit.grading.runner import agent_call, agent_source, kernel_environment


def test_the_agent_is_shipped_as_its_own_source_text() -> None:
    assert agent_source() == Path(agent.__file__).read_text(encoding="utf-8")
    # Evaluated as the kernel evaluates a request: a fresh namespace, then the call.
    assert json.loads(eval(agent_call("json.dumps(list(WATCHED))"))) == list(agent.WATCHED)
    assert eval(agent_call("__name__")) == "labkit_grader"  # the agent's namespace, not this module's


def _checker() -> types.ModuleType:
    module = types.ModuleType("fake_check")
    exec(  # noqa: S102
        "import functools\n"
        "def helper(x):\n    return x\n"
        "@functools.wraps(helper)\ndef wrapper(x):\n    return helper(x)\n"
        "class Exercise:\n    def check(self):\n        return 1\n",
        vars(module),
    )
    return module


def test_seal_and_intact_see_every_swap() -> None:
    module = _checker()
    items = agent.seal(module)
    sealed = {(getattr(owner, "__name__", None), name) for owner, name, _, _ in items}
    # functools.wraps gave the wrapper its wrapped function's name: ("helper", "__wrapped__").
    assert sealed == {("fake_check", "helper"), ("fake_check", "wrapper"), ("helper", "__wrapped__"),
                      ("fake_check", "Exercise"), ("Exercise", "check")}
    assert agent.intact(items, [])

    module.helper = lambda x: x  # a function replaced
    assert not agent.intact(items, [])

    module = _checker()
    items = agent.seal(module)
    module.Exercise.check.__code__ = (lambda self: 2).__code__  # same function, new code
    assert not agent.intact(items, [])

    module = _checker()
    items = agent.seal(module)
    del module.Exercise  # a class removed
    assert not agent.intact(items, [])

    value = []
    closure = (lambda: value).__closure__
    assert closure is not None
    cells = [(cell, cell.cell_contents) for cell in closure]
    assert agent.intact([], cells)
    closure[0].cell_contents = []  # what the recording wrapper closes over, swapped
    assert not agent.intact([], cells)


SESSION = r'''
import ast, json, sys
from IPython.core.interactiveshell import InteractiveShell
from labkit.grading.runner import agent_call

shell = InteractiveShell.instance()
answers = {}

def request(name, call):
    value = shell.user_expressions({"r": agent_call(call)})["r"]
    answers[name] = json.loads(ast.literal_eval(value["data"]["text/plain"])) if value["status"] == "ok" else value

def cell(code):
    assert shell.run_cell(code).success, code

cell("import labkit, labkit.check")
request("bootstrap", "bootstrap('k', 0)")
checker = open(sys.modules["labkit.check"].__file__, encoding="utf-8").read()

# An answer cell replaces a builtin and the checker's entry point.
cell("import builtins\nbuiltins.len = lambda x: 0\nlabkit.exercise = None")
request("guard", f"guard('k', 'n1', {checker!r}, 'check.py')")
cell('with labkit.exercise("e", "Title") as ex:\n    ex.check("one is one", lambda: 1, expected=1, points=2, hint="h")')
request("collect", "collect('k', 'n1')")
answers["len restored"] = len("abc") == 3

# A check calls the learner's code, which swaps the fresh checker's method.
request("guard again", f"guard('k', 'n2', {checker!r}, 'check.py')")
cell("def sneaky():\n    labkit.check.Exercise.check = lambda self, *a, **k: None\n    return 1\n"
     'with labkit.exercise("e", "Title") as ex:\n    ex.check("sneaky", sneaky, expected=1)')
request("collect swapped", "collect('k', 'n2')")

# A nonce the grader did not send (or an old one) gets nothing.
request("collect stale", "collect('k', 'n1')")
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(answers, out)
'''


def test_guard_and_collect_in_a_shell(tmp_path: Path) -> None:
    answers_file = tmp_path / "answers.json"
    done = subprocess.run([sys.executable, "-c", SESSION, str(answers_file)], env=kernel_environment(),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(answers_file.read_text(encoding="utf-8"))
    assert answers["bootstrap"] == {"ok": True}
    assert answers["guard"] == {"nonce": "n1", "changed": ["builtins.len", "labkit.exercise"]}
    assert answers["collect"] == {
        "nonce": "n1", "intact": True, "changed": [],
        "records": [["e", "Title", "one is one", True, 2.0, "1", "1", "h"]],
    }
    assert answers["len restored"] is True
    assert answers["guard again"] == {"nonce": "n2", "changed": []}
    swapped = answers["collect swapped"]
    assert (swapped["nonce"], swapped["intact"], swapped["changed"]) == ("n2", False, ["labkit.check"])
    assert answers["collect stale"] == {"nonce": "n1", "intact": False, "changed": [], "records": []}
