# The course's two set-up commands:  `make book`  and  `make test`.
# Both create .venv if missing, install requirements.txt and labkit, and make sure
# Graphviz's `dot` exists (make test: Debian's Chromium too, for the browser tests).
# `make lab` opens JupyterLab on the labs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test workers: two per core on a 2-core machine. Most of a notebook's time is real
# waiting (visibility timeouts, long polls, retries), so a core serves two workers.
JOBS   ?= 4

.PHONY: book book-class test test-fast lint lab bench release clean graphviz chromium help

help:
	@echo "make book       build the HTML book into _build/html (executes notebooks, cached)"
	@echo "make book-class the class edition (no worked solutions) into _build/class/_build/html"
	@echo "make test       lint, then the whole test suite (labkit, notebooks, labs, grading, book build)"
	@echo "make test-fast  lint, then every test that executes no notebook (the inner loop)"
	@echo "make lint       ruff and the import-linter contracts (pyproject.toml)"
	@echo "make lab        open JupyterLab on the course (walkthroughs in notebooks/, labs in labs/)"
	@echo "make bench      print benchmark figures (LABKIT_BENCH_SKIP_SUITE=1 skips timing make test)"
	@echo "make release    write student copies of every lab into release/"

$(BIN)/python:
	@echo "==> creating $(VENV) with $$($(PYTHON) --version 2>&1)"
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create a virtual environment. On Debian/Ubuntu run: sudo apt-get install python3-venv"; exit 1; }

$(STAMP): $(BIN)/python requirements.txt pyproject.toml
	@echo "==> installing requirements (first time: a few minutes)"
	@$(BIN)/python -m pip install --upgrade --progress-bar on "pip>=24" >/dev/null
	@$(BIN)/python -m pip install --progress-bar on -r requirements.txt -e .
	@touch $(STAMP)

graphviz:
	@bash scripts/ensure-command.sh dot graphviz graphviz "the architecture diagrams are drawn with Graphviz" \
	  https://graphviz.org/download/

# The browser tests (tests/book/test_browser.py) read the built book in Debian's Chromium.
chromium:
	@bash scripts/ensure-chromium.sh

book: $(STAMP) graphviz
	@echo "==> building the book into _build/html (unchanged notebooks come from the cache)"
	@LABKIT_REQUIRE_GRAPHVIZ=1 $(BIN)/jupyter-book build . --warningiserror --keep-going
	@if [ -d _build/lite ]; then rm -rf _build/html/lite && cp -r _build/lite _build/html/lite && \
	  echo "==> the browser edition (make lite) is in _build/html/lite: the pages' Browser links open it"; fi
	@echo "==> open _build/html/index.html"

# The class edition: every worked solution withheld (labkit.grading.book). It starts
# from the self-learner's execution cache when there is one.
book-class: $(STAMP) graphviz
	@echo "==> building the class edition into _build/class/_build/html"
	@mkdir -p _build/class/_build && if [ -d _build/.jupyter_cache ]; then cp -r _build/.jupyter_cache _build/class/_build/; fi
	@LABKIT_EDITION=class LABKIT_REQUIRE_GRAPHVIZ=1 $(BIN)/jupyter-book build . --path-output _build/class --warningiserror --keep-going
	@echo "==> open _build/class/_build/html/index.html"

lint: $(STAMP)
	@echo "==> lint: ruff, and the layers and no-cycle contracts of import-linter"
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports --no-cache

# Each notebook executes twice (nbval, then again in the same kernel); the book is
# built from nbval's executed copies (see tests/notebooks/executions.py).
test: $(STAMP) graphviz chromium lint
	@echo "==> running the test suite with $(JOBS) workers"
	@$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --no-loadscope-reorder --durations=25

# No notebook executions, no book build: labkit's, the services' and the grader's tests.
test-fast: $(STAMP) lint
	@echo "==> running the tests that execute no notebook, with $(JOBS) workers"
	@$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -m "not notebook" tests

# JupyterLab at the course's root (book/, notebooks/ and labs/ all open), offline:
# no update check, no news feed, no PyPI extension search; --allow-root when run as root.
# The course's default settings (.jupyter/lab/settings/overrides.json; Binder's postBuild
# installs the same file): a notebook starts its own kernel, with no "Select Kernel" question.
LAB_FLAGS := --ServerApp.root_dir=$(CURDIR) --LabApp.extension_manager=readonly \
	--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate --LabApp.news_url=None \
	--LabApp.app_settings_dir=$(CURDIR)/.jupyter/lab/settings \
	$(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP) graphviz
	@$(BIN)/jupyter lab $(LAB_FLAGS)

bench: $(STAMP) graphviz
	@$(BIN)/python bench/run.py

release: $(STAMP)
	@$(BIN)/labkit release labs/ --out release/

clean:
	rm -rf _build release

# The browser edition (JupyterLite): the tools of requirements-lite.txt into .venv, then the
# site into _build/lite (scripts/build_lite.py; downloads are cached in _build/lite-cache).
.PHONY: lite test-lite
LITE_STAMP := $(VENV)/.installed-lite

$(LITE_STAMP): $(STAMP) requirements-lite.txt
	@echo "==> installing the browser edition's build tools (requirements-lite.txt)"
	@$(BIN)/python -m pip install --progress-bar on -r requirements-lite.txt
	@touch $(LITE_STAMP)

lite: $(LITE_STAMP)
	@bash scripts/ensure-command.sh node nodejs node "the browser edition's build runs Pyodide in Node.js (18 or newer)" \
	  https://nodejs.org/
	@$(BIN)/python scripts/build_lite.py

# Every notebook that declares the browser edition, run in JupyterLite in Chromium (tests/lite/test_lite.py,
# one worker), and beside it in a CPython that behaves like Pyodide (tests/lite/test_browser_mode.py).
test-lite: lite chromium
	@LABKIT_LITE=1 $(BIN)/python -m pytest -p no:randomly -n 2 --dist loadgroup tests/lite/test_lite.py tests/lite/test_browser_mode.py
