# durable: build, install, test, run and benchmark everything.
# `make run` and `make test` install missing Debian packages themselves.

SUBDIRS := $(wildcard worker fused web)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps pgext install test fuzz run stop bench bench-peers clean $(SUBDIRS)

all: pgext $(SUBDIRS)

deps:
	@scripts/install-deps.sh

pgext:
	$(MAKE) -C pgext

$(SUBDIRS):
	@if [ -f $@/Makefile ]; then $(MAKE) -C $@; fi

# pgext's install refuses to replace durable.so under a running server that
# loaded it (scripts/install-guard.sh names the cluster).
install: pgext
	$(SUDO) $(MAKE) -C pgext install

# Tests install durable into a private copy of PostgreSQL (scripts/pginst.sh),
# not into the system's: no root needed, and no running cluster is touched.
test: deps
	$(MAKE) all
	scripts/test.sh

# The fuzzer (tests/fuzz) for longer than make test's minute with fixed seeds:
# FUZZ_SECONDS (default 600), FUZZ_SEEDS (default: one from the clock, printed
# so that a finding can be replayed).
fuzz: deps
	$(MAKE) all
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} FUZZ_SEEDS="$${FUZZ_SEEDS:-$$(date +%s)}" scripts/test.sh fuzz

# make run's own cluster is stopped for the install and started again.
run: deps
	$(MAKE) all
	scripts/run.sh stop >/dev/null
	$(MAKE) install
	scripts/run.sh

stop:
	scripts/run.sh stop

bench: deps
	$(MAKE) all
	$(MAKE) install
	tests/bench/run.sh

# durable against graphile-worker, pg-boss and DBOS (from npm, into a scratch
# directory outside the repository) on one cluster in one run.
bench-peers: deps
	$(MAKE) all
	$(MAKE) install
	tests/bench/peers/run.sh

clean:
	$(MAKE) -C pgext clean
	@for d in $(SUBDIRS) tests/fuzz; do [ -f $$d/Makefile ] && $(MAKE) -C $$d clean; done; true
