# Two commands for a new user: `make demo` and `make test`.
# Both install what the machine lacks first: Debian packages (when run as root),
# a virtualenv in .venv, and certseal itself into it.

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
APT_PACKAGES := fonts-noto-core fonts-noto-cjk libharfbuzz-subset0 poppler-utils softhsm2 chromium
INSTALLED   := $(VENV)/.installed

.PHONY: demo test previews bench install system-packages clean

demo: install
	$(BIN)/certseal demo $(if $(OUT),--out $(OUT))

test: install
	$(BIN)/certseal i18n check
	$(BIN)/python -m pytest -n auto --dist loadfile

# A contact sheet (PNG) of every model's first page, for template developers.
previews: install
	$(BIN)/certseal preview --contact-sheet out/previews/contact-sheet.png

# Stage timings, naive baseline, page curve and worker throughput (bench/); BENCH_ARGS=--quick
# for a smoke run, BENCH_ARGS="--worker-tasks 1000" for the leak check.
bench: install
	$(BIN)/python -m bench --out out/bench.json $(BENCH_ARGS)

install: system-packages $(INSTALLED)

# Installs only the packages that are missing, so a ready machine pays nothing.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing system packages:$$missing (run 'make install' as root, or: sudo apt-get install$$missing)" >&2; exit 1; \
	  fi; \
	fi

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
