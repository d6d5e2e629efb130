"""Each test's report on its item, so that a fixture can tell a failed test
(tests/lab/test_jupyterlab.py keeps screenshots of a failure)."""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


#: tests/lab/fixtures holds notebooks that JupyterLab opens (test_jupyterlab.py), not notebooks to run.
collect_ignore_glob = ["fixtures/*"]
