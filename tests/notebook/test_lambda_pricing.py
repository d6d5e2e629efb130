"""The cost calculators on a page without a kernel (the book's) answer as the
Python does: each form's script is run in Chromium, for several workloads, and
each answer is compared with the module's ``summary_lines`` (the Lambda
chapter's :mod:`lambda_pricing`, the part opener's :mod:`compute_pricing`).

Chromium comes from Debian (scripts/ensure-chromium.sh, which ``make test``
runs) and is driven by Playwright; the page is set from a string, so the
browser makes no request at all (any request fails the test).
"""

from __future__ import annotations

import re

import pytest

from labkit.notebook import compute_pricing
from labkit.notebook import lambda_pricing as pricing
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, playwright_or_fail

FLAGS = ["--headless", *CHROMIUM_ARGS]

#: (requests, duration ms, memory MB, $ per million, $ per GB-s, free tier, EC2 $/h, instances)
WORKLOADS = [
    (5_000_000, 200, 512, 0.20, 0.00001667, True, 0, 1),  # the form's defaults
    (100_000, 120, 128, 0.20, 0.00001667, True, 0.0104, 1),  # inside the free tier
    (3_000_000, 1000, 512, 0.20, 0.00001667, True, 0, 1),  # AWS's pricing page example
    (262_800_000, 150, 1024, 0.20, 0.00001667, True, 0.2, 2),  # 100 requests a second, all month
    (1_000_000, 99.5, 1024, 0.20, 0.00001667, False, 0.05, 3),  # no free tier, a duration rounded up
    (1, 1000, 512, 0.25, 0.00002, False, 0.0000001, 1),  # 0.5 GB-s: a tie, rounded to even as Python does
    (10**12, 900_000, 10_240, 0.20, 0.00001667, True, 1000, 1000),  # the largest inputs
]
NAMES = ["requests", "duration_ms", "memory_mb", "per_million", "per_gb_second", "free_tier", "ec2_hourly",
         "instances"]


def python_answer(requests, duration, memory, per_million, per_gb_s, free, ec2, instances) -> str:
    prices = pricing.LambdaPrices(per_million, per_gb_s, pricing.US_EAST_1_X86.free_requests,
                                  pricing.US_EAST_1_X86.free_gb_seconds)
    return "<br>".join(pricing.summary_lines(requests, duration, memory, prices=prices, free_tier=free,
                                             ec2_hourly=ec2, instances=instances))


@pytest.fixture(scope="module")
def browser():
    sync_api = playwright_or_fail()
    with sync_api.sync_playwright() as playwright:
        # Playwright gives the browser a fresh profile of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_form(browser, form: str):
    """A tab showing ``form``; after the tests, no script error and no request."""
    tab = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("request", lambda request: requests.append(request.url))
    tab.set_content(f"<!doctype html><html><body>{form}</body></html>")
    yield tab
    assert not errors, errors
    assert not requests, f"the calculator made requests: {requests}"
    tab.close()


@pytest.fixture(scope="module")
def page(browser):
    yield from open_form(browser, pricing.static_calculator())


@pytest.fixture(scope="module")
def compute_page(browser):
    yield from open_form(browser, compute_pricing.static_calculator())


def fill(page, values) -> str:
    for name, value in zip(NAMES, values, strict=True):
        if name == "free_tier":
            page.set_checked("[name=free_tier]", value)
        else:
            page.fill(f"[name={name}]", repr(value) if isinstance(value, float) else str(value))
    return page.inner_html(".labkit-calculator-out")


def test_the_form_opens_with_the_python_answer_for_its_defaults(page):
    assert page.inner_html(".labkit-calculator-out") == python_answer(*WORKLOADS[0])


@pytest.mark.parametrize("workload", WORKLOADS, ids=[str(w[:3]) for w in WORKLOADS])
def test_the_static_calculator_answers_as_the_python_does(page, workload):
    assert fill(page, workload) == python_answer(*workload)


def test_a_wrong_input_is_named_instead_of_a_wrong_answer(page):
    fill(page, WORKLOADS[0])
    page.fill("[name=memory_mb]", "64")  # below Lambda's 128 MB
    page.fill("[name=instances]", "1.5")
    text = page.inner_text(".labkit-calculator-out")
    assert text.startswith("Enter a number for: Memory (MB) (a whole number from 128 to 10240); "
                           "Always-on instances (a whole number from 1 to 1000)"), text
    assert "$" not in text and "NaN" not in text
    page.fill("[name=memory_mb]", "512")
    page.fill("[name=instances]", "1")
    assert page.inner_html(".labkit-calculator-out") == python_answer(*WORKLOADS[0])


def test_the_static_form_uses_this_module_s_prices_and_loads_nothing():
    form = pricing.static_calculator()
    assert 'name="per_gb_second" value="0.00001667"' in form and 'name="per_million" value="0.2"' in form
    assert '"free_requests": 1000000' in form and '"free_gb_seconds": 400000.0' in form and '"hours": 730.0' in form
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img\b|import\(|fetch\(|XMLHttpRequest", form)


def test_in_a_kernel_the_widget_offers_the_static_form_as_its_html():
    pytest.importorskip("ipywidgets")
    widget = pricing.calculator()
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == pricing.static_calculator()
    assert widget.children[-2].value == python_answer(*WORKLOADS[0])
    widget.children[6].value = 0.05  # EC2 $ per hour
    assert widget.children[-2].value == python_answer(*WORKLOADS[0][:6], 0.05, 1)


#: compute_pricing's fields, in order, for workloads: none priced, all priced, EC2 cheapest, fractions truncated.
COMPUTE = [
    (5_000_000, 200, 512, 0, 2, 0, 0, 0.5, 1, 2),
    (5_000_000, 200, 512, 0.0416, 2, 0.04048, 0.004445, 0.5, 1, 2),
    (262_800_000, 150, 1024, 0.0104, 1, 0.04048, 0.004445, 0.25, 0.5, 3),
    (2_500_000.7, 99.5, 100, 0, 0, 0.05, 0, 1, 2, 1.9),  # memory below 128 MB counts as 128, counts truncated
    (10**12, 900_000, 10_240, 1000, 1000, 10, 10, 16, 120, 1000),
]


@pytest.mark.parametrize("workload", COMPUTE, ids=[str(w[:3]) for w in COMPUTE])
def test_the_compute_calculator_answers_as_the_python_does(compute_page, workload):
    names = [name for name, *_ in compute_pricing.FIELDS]
    for name, value in zip(names, workload, strict=True):
        compute_page.fill(f"[name={name}]", repr(value) if isinstance(value, float) else str(value))
    expected = "<br>".join(compute_pricing.summary_lines(**dict(zip(names, workload, strict=True))))
    assert compute_page.inner_html(".labkit-calculator-out") == expected


def test_the_compute_widget_offers_its_static_form():
    pytest.importorskip("ipywidgets")
    widget = compute_pricing.calculator()
    assert widget._repr_mimebundle_()["text/html"] == compute_pricing.static_calculator()
    assert widget.children[-2].value == "<br>".join(compute_pricing.summary_lines(*COMPUTE[0][:3]))
