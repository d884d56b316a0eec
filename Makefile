# entbrain — two commands: `make demo` runs the main job, `make test` runs the checks.
# Both set themselves up on a fresh machine (virtualenv, packages, Kafka jars).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-packages demo test lint pytest faults soak stop kafka-start kafka-stop clean

setup: system-packages $(STAMP) .kafka/lib/.fetched

# chromium and fonts-noto-cjk: installed when root, else one line saying what to install
system-packages:
	@sh scripts/system-packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $@

.kafka/lib/.fetched: scripts/kafka/pom.xml $(STAMP)
	$(PY) -c "from config import Settings; from streams import broker; broker.fetch_jars(broker.paths_for(Settings()))"
	touch $@

demo: setup
	$(VENV)/bin/entbrain demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

pytest: setup
	$(PY) -m pytest

test: lint pytest

# The long fault suite (about 15 minutes): ten kills over a 300-enterprise park against the
# offline oracle, then the fault tests with a 60-second ClickHouse outage.
faults: setup
	$(PY) -m tests.faults --enterprises 300 --months 6 --kills 10
	ENTBRAIN_FAULT_OUTAGE_SECONDS=60 $(PY) -m pytest -q tests/integration/test_faults.py

# The mid-stream restart test, twenty times in a row.
soak: setup
	$(PY) -m tests.soak --runs 20

stop:
	$(VENV)/bin/entbrain stop

kafka-start: setup
	$(VENV)/bin/entbrain kafka start

kafka-stop:
	$(VENV)/bin/entbrain kafka stop

clean: stop
	rm -rf .data
