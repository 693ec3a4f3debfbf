# make demo | make test | make lint | make bench | make e2e | make schema
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgres e2e fuzz lint format bench schema venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py demo

# pytest-xdist workers, one file per worker at a time (a file's tests share its fixtures).
# One more worker than cores: many tests wait on the emulator's timers and retries.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

test: $(STAMP)
	$(PY) -m pytest -m "not e2e and not fuzz" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Schemathesis over api/openapi.yaml as an admin and a viewer token (FUZZ_SEED, FUZZ_EXAMPLES).
fuzz: $(STAMP)
	$(PY) -m pytest -m fuzz -s tests/fuzz $(PYTEST_ARGS)

e2e: $(STAMP)
	$(PY) -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	OPSCONSOLE_LOCAL_KEYS=1 $(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The API's committed contract; tests/platform/test_openapi.py fails when it is out of date.
schema: $(STAMP)
	OPSCONSOLE_LOCAL_KEYS=1 $(PY) manage.py spectacular --file api/openapi.yaml --validate --fail-on-warn

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var
