# baocao — set-up, tests, demo and benchmarks on Debian 12, run as root.
#
#   make test    system packages + virtualenv, then the whole test suite
#   make demo    system packages + virtualenv, then `baocao demo`
#   make lock    regenerate the three lock files from pyproject.toml (exact pins and hashes):
#                requirements.lock (runtime: production, the image), requirements-test.lock
#                (runtime + [test] extras: `make venv`), requirements-build.lock (the build
#                backend that makes the project's wheel in the image)
#   make bench   the ingest baseline benchmark (BENCH_N messages)
#   make clean   remove the virtualenv, caches and build output
#
# VENV and PYTHON can be overridden, e.g. `make VENV=/tmp/venvcheck test`.

PYTHON ?= python3
VENV ?= .venv
BENCH_N ?= 1000
PYTEST_ARGS ?= -q
DEMO_ARGS ?=

VENV_STAMP := $(VENV)/.baocao-installed
# Debian packages this project needs, as "command:package" pairs.
SYSTEM_DEPS := dovecot:dovecot-imapd openssl:openssl tesseract:tesseract-ocr
# Tesseract's models for scans and photos (parsers.ocr): Vietnamese, English (figures), orientation
TESSERACT_LANGS := vie eng osd

.PHONY: venv deps-system test demo lock bench clean lint format

# --- system packages -----------------------------------------------------------------
# Installs only what is missing. The Debian dovecot package starts a system-wide
# Dovecot on ports 143/993; the tests and the demo start their own on free ports,
# so a Dovecot this step installed is stopped and disabled again (tolerating a
# container without systemd or init scripts).
deps-system:
	@missing=""; \
	for pair in $(SYSTEM_DEPS); do \
	  cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  if ! command -v $$cmd >/dev/null 2>&1 && [ ! -x /usr/sbin/$$cmd ]; then missing="$$missing $$pkg"; fi; \
	done; \
	for lang in $(TESSERACT_LANGS); do \
	  ls /usr/share/tesseract-ocr/*/tessdata/$$lang.traineddata >/dev/null 2>&1 || missing="$$missing tesseract-ocr-$$lang"; \
	done; \
	if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -z "$$missing" ]; then echo "deps-system: dovecot, openssl, tesseract ($(TESSERACT_LANGS)) and venv are present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "deps-system: missing$$missing; run 'make deps-system' as root (apt-get)" >&2; exit 1; \
	fi; \
	echo "deps-system: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
	case "$$missing" in *dovecot-imapd*) \
	  systemctl disable --now dovecot >/dev/null 2>&1 || true; \
	  invoke-rc.d dovecot stop >/dev/null 2>&1 || service dovecot stop >/dev/null 2>&1 || true; \
	  /usr/sbin/dovecot stop >/dev/null 2>&1 || true; \
	  echo "deps-system: installed dovecot-imapd (its system service is stopped; baocao starts its own)";; \
	esac

# --- virtualenv ----------------------------------------------------------------------
# The development and test virtualenv: the test lock (runtime + test tools, every file
# checked against its hash), then the project in editable mode. Rebuilt only when
# requirements-test.lock or pyproject.toml changed (stamp file).
venv: $(VENV_STAMP)

$(VENV_STAMP): requirements-test.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "baocao needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1). Use make PYTHON=python3.11" >&2; exit 1; }
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --require-hashes -r requirements-test.lock
	$(VENV)/bin/python -m pip install -q --no-deps -e .
	@touch $@

# --- everyday targets ----------------------------------------------------------------
# ruff (format and lint), mypy (strict on parsers/ and storage/) and import-linter
# (the one-way flow, .importlinter). `make format` rewrites the files ruff would change.
LINT_PATHS := service parsers storage templates tests bench scripts

lint: venv
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy service parsers storage
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

test: deps-system venv
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS) tests

demo: deps-system venv
	$(VENV)/bin/baocao demo $(DEMO_ARGS)

bench: deps-system venv
	$(VENV)/bin/python bench/ingest_bare.py --n $(BENCH_N)

# pip-tools' pip-compile in a throwaway venv resolves pyproject.toml into exact pins with
# the hashes of every published file. The test lock is resolved under the runtime lock
# as a constraint, so the two never disagree on a version. Existing pins are kept while
# they still fit pyproject.toml; `make lock LOCK_ARGS=--upgrade` moves every transitive
# pin to its newest release.
PIP_TOOLS ?= pip-tools==7.6.2
LOCK_ARGS ?=
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)
# The lock files' header names the command that made them.
COMPILE = CUSTOM_COMPILE_COMMAND='make lock' .lock-venv/bin/pip-compile $(LOCK_FLAGS)

lock:
	@rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q '$(PIP_TOOLS)'
	$(COMPILE) -o requirements.lock pyproject.toml
	$(COMPILE) --extra test -c requirements.lock -o requirements-test.lock pyproject.toml
	$(COMPILE) --build-deps-for wheel --only-build-deps \
	  -o requirements-build.lock pyproject.toml
	@rm -rf .lock-venv build *.egg-info
	@for f in requirements.lock requirements-test.lock requirements-build.lock; do \
	  echo "$$f: $$(grep -c '^[A-Za-z0-9].*==' $$f) pinned packages"; done

clean:
	rm -rf $(VENV) .lock-venv build dist *.egg-info .pytest_cache .hypothesis bench/out demo-output
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
