"""A calculator for a page without a kernel: an HTML form and an inline script.

The cost calculators of the book (:mod:`labkit.notebook.lambda_pricing`,
:mod:`labkit.notebook.compute_pricing`) are ipywidgets forms in a kernel. A
widget needs a kernel or a widget manager loaded from elsewhere; the book's
pages load neither. So each calculator also offers, as its HTML
representation, a form made here: the same fields, and a short script (the
calculator's own arithmetic written out in JavaScript, operation for
operation, with its constants filled in from Python) that answers on every
input. The form loads nothing: no script file, no style sheet, no font.

:func:`form` builds the HTML; :func:`widget_with_form` wraps an ipywidgets box
so that a kernel shows the widget and a page shows the form. Each calculator's
tests run the form in Chromium and compare its answers with the Python's.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Field", "form", "number", "widget_with_form"]


@dataclass(frozen=True)
class Field:
    """One input of a calculator: a number, or a checkbox when ``checkbox``."""

    name: str
    label: str
    default: float | bool
    minimum: float = 0
    maximum: float = 0
    step: float | None = None  # None: any number
    integer: bool = False  # refuse a number that is not whole
    checkbox: bool = False


def number(x: float | int) -> str:
    """A number as an HTML attribute reads it, without an exponent (1.667e-05 -> 0.00001667)."""
    if isinstance(x, float):
        text = f"{x:.10f}".rstrip("0").rstrip(".")
        return text or "0"
    return str(x)


# fixed()/fmt(): Python's "{:,.Nf}" (a tie goes to the even digit). show() reads
# every field, names those out of bounds, or writes lines(v) joined by <br>.
_SCRIPT = r"""(function () {
  var C = __CONSTANTS__;
  var root = document.currentScript.parentElement;
  function fixed(x, digits) {
    var scaled = x * Math.pow(10, digits);
    if (scaled % 1 === 0.5 && Math.floor(scaled) % 2 === 0) {
      return (Math.floor(scaled) / Math.pow(10, digits)).toFixed(digits);
    }
    return x.toFixed(digits);
  }
  function fmt(x, digits) {
    var parts = fixed(Math.abs(x), digits).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (x < 0 ? "-" : "") + parts.join(".");
  }
  function lines(v) {
__LINES__
  }
  function show() {
    var v = {};
    var wrong = [];
    C.fields.forEach(function (f) {
      var input = root.querySelector("[name=" + f.name + "]");
      if (f.checkbox) { v[f.name] = input.checked; return; }
      var x = Number(input.value);
      if (input.value.trim() === "" || !isFinite(x) || x < f.minimum || x > f.maximum ||
          (f.integer && !Number.isInteger(x))) {
        wrong.push(f.label + " (" + (f.integer ? "a whole number " : "") + "from " + f.minimum + " to " + f.maximum + ")");
      }
      v[f.name] = x;
    });
    var out = root.querySelector(".labkit-calculator-out");
    if (wrong.length) {
      out.textContent = "Enter a number for: " + wrong.join("; ") + ".";
    } else {
      out.innerHTML = lines(v).join("<br>");
    }
  }
  root.querySelector("form").addEventListener("input", show);
  show();
})();"""

_LABEL = "display:flex;flex-wrap:wrap;align-items:center;gap:.2em .8em;margin:.25em 0"


def form(title: str, fields: list[Field], lines_js: str, constants: dict[str, Any], note_html: str) -> str:
    """The calculator as one self-contained piece of HTML.

    Args:
        title: the form's accessible name.
        fields: its inputs, in order.
        lines_js: the body of ``function lines(v)``: ``v`` maps each field's
            name to its number (or checkbox state); it returns the lines of
            HTML to show. ``C`` (``constants``) and ``fmt(x, digits)`` are in scope.
        constants: values the script reads as ``C.<name>`` (JSON).
        note_html: a line under the answer (sources, dates).
    """
    inputs = []
    for field in fields:
        text = f'<span style="flex:0 0 13em;max-width:100%">{html.escape(field.label)}</span>'
        if field.checkbox:
            control = f'<input type="checkbox" name="{field.name}"{" checked" if field.default else ""}>'
        else:
            step = "any" if field.step is None else number(field.step)
            control = (f'<input type="number" name="{field.name}" value="{number(field.default)}" '
                       f'min="{number(field.minimum)}" max="{number(field.maximum)}" step="{step}" '
                       'style="flex:0 1 11em;min-width:0">')
        inputs.append(f'<label style="{_LABEL}">{text}{control}</label>')
    script = _SCRIPT.replace("__CONSTANTS__", json.dumps({**constants, "fields": [vars(f) for f in fields]}))
    script = script.replace("__LINES__", lines_js)
    return (f'<div class="labkit-calculator" style="max-width:100%">'
            f'<form onsubmit="return false" aria-label="{html.escape(title)}">' + "".join(inputs) + "</form>"
            '<p class="labkit-calculator-out" aria-live="polite" style="margin:.6em 0"></p>'
            f"<p><small>{note_html}</small></p><script>{script}</script></div>")


def widget_with_form(box: Any, static_html: str) -> Any:
    """``box`` (an ipywidgets container), displayed as itself in a kernel and
    offering ``static_html`` as its HTML representation, which a page without
    a widget manager (the book's) shows instead."""
    import ipywidgets as w

    class Calculator(w.VBox):  # type: ignore[misc]
        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, dict):
                bundle["text/html"] = static_html
            return bundle

    return Calculator(list(box.children))
