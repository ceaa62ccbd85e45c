# pve-multipath: see README.md. `make test` and `make demo` install missing
# Debian packages first (as root).

CARGO ?= cargo
PERL ?= perl
LIBRARY := target/release/libpve_rs_multipath.so
PERL_ENV := PVE_MULTIPATH_LIB=$(CURDIR)/$(LIBRARY)
PERL_INC := -I$(CURDIR)/perl -I$(CURDIR)/tests/lib

.PHONY: all deps build build-selftest test test-rust test-perl lint demo bench clean \
	install deb deb-test lab-test

all: build

deps:
	./scripts/install-deps

build: deps
	$(CARGO) build --release

# The test library carries the test-only PVE::RS::Multipath::Selftest package.
build-selftest: deps
	$(CARGO) build --release --features selftest

test: lint test-rust test-perl

test-rust: deps
	$(CARGO) test --release --features selftest

lint: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets --features selftest -- -D warnings

test-perl: build-selftest
	$(PERL_ENV) prove $(PERL_INC) tests/*.t
	cd tests/series && $(PERL_ENV) $(PERL) $(PERL_INC) run_multipath_tests.pl

demo: build
	$(PERL_ENV) $(PERL) $(PERL_INC) scripts/demo

bench: build
	$(PERL_ENV) $(PERL) $(PERL_INC) bench/run

clean:
	$(CARGO) clean

# --- packaging (debian/ helper owns the next three targets) ---
install:
	@echo "install: not yet implemented" >&2; exit 1

deb:
	@echo "deb: not yet implemented" >&2; exit 1

deb-test:
	@echo "deb-test: not yet implemented" >&2; exit 1

# --- end-to-end lab against real multipathd in QEMU guests ---
lab-test:
	./tests/lab/run
