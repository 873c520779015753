# Everything the project needs is installed by these targets: `make run` and `make test`
# create .venv when it is missing and (re)install when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install server clean browser postgresql

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# The documents' CJK fonts (activities/documents/fonts.py): Debian's fonts-noto-cjk, ~60 MB download.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
$(CJK_FONT):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk

# PostgreSQL's server binaries: the tests start their own cluster (tests/pg.py, issue 27).
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
postgresql:
	@test -n "$(PG_INITDB)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) >/dev/null \
	      || { echo "make: could not install postgresql with apt-get"; exit 1; }; \
	  else echo "make: the tests need PostgreSQL's server: apt-get install -y postgresql"; exit 1; fi; }

# uv installs the same packages as pip (same versions; compared with `pip freeze`) in about 6 s
# against pip's 34 s on a fresh clone, a tenth of CI's time budget; pip stays as the fallback
# when uv cannot be had or cannot reach the registry. --native-tls: the system's certificates,
# as pip uses them here. --compile-bytecode: uv does not write the packages' bytecode by default
# (pip does), and this machine's shell sets PYTHONDONTWRITEBYTECODE=1, so on a fresh clone every process
# the tests start compiled temporalio, pydantic, sqlalchemy... from source again: `ecoplan --help`
# took 2.50 s (2.3 CPU-s) against 1.22 s with the bytecode written (about 11 CPU-s, once).
$(STAMP): $(BIN)/python pyproject.toml | $(CJK_FONT)
	( $(BIN)/python -m pip install --quiet uv \
	  && $(BIN)/uv pip install --quiet --native-tls --compile-bytecode --python $(BIN)/python -e '.[test]' ) \
	|| ( $(BIN)/python -m pip install --quiet --upgrade pip && $(BIN)/python -m pip install --quiet -e '.[test]' )
	touch $(STAMP)

install: $(STAMP) browser

## make run: embedded Temporal dev server (SQLite under .ecoplan/, Web UI :8233) + worker +
## the web console, API and intake on http://127.0.0.1:8000 (in the worker's process).
## With TEMPORAL_ADDRESS set, no server starts; the worker and the console connect there.
## RUN_ARGS goes to worker.py, e.g. make run RUN_ARGS="--port 7300 --ui-port 8300 --db /tmp/t.db --web-port 8100".
## SIGTERM, SIGHUP or Ctrl-C stops the server and the console too (tests/test_process_hygiene.py).
run: $(STAMP)
	$(BIN)/python worker.py --embedded --web $(RUN_ARGS)

## make test: install and run the whole suite against real Temporal dev servers, in six
## processes (pytest-xdist; each starts its own dev server): the tests often wait on servers,
## so four beat three on 2 cores (5 min 08 s against 5 min 40 s on the same clone), five beat
## four (276 s against 305 s of pytest, one after the other on 2026-12-07), and six beat five
## on fresh clones of the same commit (319.3 s against 335.0 s of pytest, 342.0 s against 364.3 s
## in all, 2026-12-08).
## The project's modules are compiled once before the run: on a fresh clone, the four test
## processes and the CLI, worker and server processes they start would otherwise each compile
## them at the same time (a fresh-clone `make test` took 58 CPU-s more than a second run, pip's
## install included; compiling them here takes under 1 s).
## pytest's rewritten test modules are written once too, by one collection (10 CPU-s, 3 CPU-s once
## they are written) before the six processes each collect the suite: with
## PYTHONDONTWRITEBYTECODE=1, as this machine's shell has it, each process rewrote all of them.
## With both, a fresh clone's `.ci/run` took 294.9 s of pytest (user CPU 7 min 39 s), against
## 336.7–400.8 s (9 min 3 s – 10 min 49 s) in four runs before (2026-12-08).
test: $(STAMP) browser postgresql
	$(BIN)/python -m compileall -q -j 0 ecoplan workflows activities plan tests benchmarks worker.py
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q --collect-only -p no:xdist >/dev/null 2>&1 || true  # errors: said by the run below
	$(BIN)/python -m pytest -q -n 6 --dist worksteal $(PYTEST_ARGS)

## The browser tests drive Debian's chromium (Playwright's own download is unreachable); their
## CJK fonts are the documents' fonts-noto-cjk above. Installed here when missing (as root),
## or one line naming what is missing.
browser: | $(CJK_FONT)
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
	      || { echo "make: could not install chromium with apt-get"; exit 1; }; \
	  else echo "make: the browser tests need Debian's chromium: apt-get install -y chromium"; exit 1; fi; }

server: $(STAMP)
	$(BIN)/ecoplan server

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

## make bench: every benchmark at full size, ecoplan beside a bare Temporal baseline on a
## dev server of its own; writes benchmarks/results/latest.json (see BENCHMARKS.md).
.PHONY: bench bench-quick bench-long
bench: $(STAMP)
	$(BIN)/python -m benchmarks.harness --profile full $(BENCH_ARGS)

## make bench-quick: a small size of each benchmark, about four minutes.
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.harness --profile quick $(BENCH_ARGS)

## make bench-workers: life cycles per second with one and with two `python worker.py` processes on one
## dev server and one PostgreSQL, beside one worker on the SQLite default (benchmarks/workers.py);
## BENCH_ARGS="--n 24 --rounds 2"; writes benchmarks/results/workers-*.json.
.PHONY: bench-workers
bench-workers: $(STAMP) postgresql
	$(BIN)/python -m benchmarks.workers $(BENCH_ARGS)

## make bench-long: one incident taking 3,000 progress reports of 4,000 characters each; the
## state carried across continue-as-new must stay under 256 kB (benchmarks/long_incident.py).
bench-long: $(STAMP)
	$(BIN)/python -m benchmarks.long_incident $(BENCH_ARGS)

## make soak: the chaos soak (benchmarks/soak.py): SOAK_ARGS="--incidents 200 --minutes 30 --fault-rate 2"
## drives incidents to the close while the worker is SIGKILLed, the dev server restarted, the
## calendar and the webhook broken at random; writes benchmarks/results/soak-*.json.
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)
