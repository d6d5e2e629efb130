"""labkit.core.lazy: rfc3987_syntax is imported at its first use, not when jsonschema is.

If a new release of jsonschema or rfc3987_syntax reads the module differently,
the stand-in stops paying (the first test fails: the grammar is built at
import again); it cannot answer differently (the second test).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from labkit.core import lazy

VALID = ["https://example.com/a?b=c#d", "urn:isbn:0451450523", "http://例え.テスト/パス", "mailto:shop@example.com"]
INVALID = ["not an iri", "http://exa mple.com/", "://no-scheme", "http://[::1/"]


def test_jsonschema_imports_without_building_the_rfc3987_grammar():
    """A process that imports labkit, then jsonschema (nbformat, moto's API Gateway
    do), has the stand-in, and no Earley parser was built."""
    script = textwrap.dedent(f"""
        import sys
        import labkit
        import jsonschema
        from labkit.core import lazy
        assert lazy.installed(), "the stand-in is not in sys.modules"
        assert "lark" not in sys.modules, "the rfc3987 grammar was built at import"
        assert sys.modules["{lazy.MODULE}"].is_valid_syntax is lazy.is_valid_syntax
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_the_stand_in_answers_as_the_real_module_then_hands_over():
    import jsonschema

    checker = jsonschema.FormatChecker()
    real = lazy.load()
    assert not getattr(real, "__labkit_deferred__", False)
    assert sys.modules[lazy.MODULE] is real and not lazy.installed()
    for value in VALID + INVALID:
        for term in ("iri", "iri_reference"):
            assert lazy.is_valid_syntax(term, value) == real.is_valid_syntax(term, value), (term, value)
    assert all(checker.conforms(value, "iri") for value in VALID)
    assert not any(checker.conforms(value, "iri") for value in INVALID)


def test_any_other_name_imports_the_real_module(tmp_path, monkeypatch):
    """The mechanism, on a small package of the test's own (re-importing the real one would cost seconds)."""
    package = tmp_path / "labkit_fake_slow_module"
    package.mkdir()
    (package / "__init__.py").write_text("IMPORTED = True\n\ndef is_valid_syntax(term, value):\n    return term == value\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(lazy, "MODULE", "labkit_fake_slow_module")
    monkeypatch.delitem(sys.modules, lazy.MODULE, raising=False)
    assert lazy.install() and lazy.installed()
    stand_in = sys.modules[lazy.MODULE]
    assert stand_in.__path__ == [str(package)] and stand_in.__file__ == str(package / "__init__.py")
    assert not hasattr(stand_in, "__wrapped__")  # dunder names stay the stand-in's own: nothing imported
    assert lazy.installed()
    from labkit_fake_slow_module import is_valid_syntax  # what jsonschema does: still the stand-in's
    assert lazy.installed()
    assert is_valid_syntax("iri", "iri") and not is_valid_syntax("iri", "x")  # the first call imports it
    assert not lazy.installed() and sys.modules[lazy.MODULE] is not stand_in
    monkeypatch.delitem(sys.modules, lazy.MODULE)
    assert lazy.install()
    assert sys.modules[lazy.MODULE].IMPORTED is True  # any other name imports it too
    assert not lazy.installed()
    assert lazy.install() is False  # imported already: left alone
