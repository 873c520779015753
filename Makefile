# Everything the project needs is installed by these targets: `make run` and `make test`
# create .venv when it is missing and (re)install when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install server clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: embedded Temporal dev server (SQLite under .ecoplan/, Web UI :8233) + worker.
## With TEMPORAL_ADDRESS set, only the worker starts and connects there.
run: $(STAMP)
	$(BIN)/python worker.py --embedded

## make test: install and run the whole suite against real Temporal dev servers.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## The browser tests drive Debian's chromium (Playwright's own download is unreachable):
## installed here when missing (as root), or one line naming what is missing.
browser:
	@{ test -x /usr/bin/chromium && dpkg-query -W -f='$${Status}\n' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed'; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null \
	      || { echo "make: could not install chromium fonts-noto-cjk with apt-get"; exit 1; }; \
	  else echo "make: the browser tests need Debian's chromium and fonts-noto-cjk: apt-get install -y chromium fonts-noto-cjk"; exit 1; fi; }

server: $(STAMP)
	$(BIN)/ecoplan server

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

## make bench: every benchmark at full size, ecoplan beside a bare Temporal baseline on a
## dev server of its own; writes benchmarks/results/latest.json (see BENCHMARKS.md).
.PHONY: bench bench-quick
bench: $(STAMP)
	$(BIN)/python -m benchmarks.harness --profile full $(BENCH_ARGS)

## make bench-quick: a small size of each benchmark, about two minutes.
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.harness --profile quick $(BENCH_ARGS)
