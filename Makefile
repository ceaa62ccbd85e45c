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
	rm -rf build

# --- packaging ---
PERL_VENDORARCH := $(shell $(PERL) -MConfig -e 'print $$Config{vendorarch}')
PERL5DIR := /usr/share/perl5
# where PVE::Notify (proxmox-notify) looks for the vendor templates
NOTIFY_TEMPLATE_DIR := /usr/share/pve-manager/templates/default

# DESTDIR-aware; debian/rules passes the library it built.
install:
	install -d $(DESTDIR)$(PERL_VENDORARCH)/auto
	install -m 0644 $(LIBRARY) $(DESTDIR)$(PERL_VENDORARCH)/auto/libpve_rs_multipath.so
	cd perl && find . -name '*.pm' | sort | while read -r module; do \
		install -D -m 0644 "$$module" "$(DESTDIR)$(PERL5DIR)/$$module" || exit 1; \
	done
	install -d $(DESTDIR)$(NOTIFY_TEMPLATE_DIR)
	install -m 0644 templates/multipath-*.hbs $(DESTDIR)$(NOTIFY_TEMPLATE_DIR)

# The crates are fetched first; the package build itself is offline. See
# debian/README.source for -d. The results go to build/.
deb:
	./scripts/install-deps --deb
	@. /etc/os-release && echo "building for Debian $${VERSION_CODENAME:-$$VERSION_ID}" \
		"(perl $$($(PERL) -MConfig -e 'print $$Config{version}'), $$(rustc --version))"
	$(CARGO) fetch --locked
	dpkg-buildpackage -b -us -uc -d
	mkdir -p build
	version=$$(dpkg-parsechangelog -S Version) && \
		mv ../pve-multipath*_$${version}_*.deb ../pve-multipath_$${version}_*.buildinfo \
		../pve-multipath_$${version}_*.changes build/

deb-test: deb
	./tests/deb-test build/pve-multipath_$$(dpkg-parsechangelog -S Version)_$$(dpkg --print-architecture).deb

# --- end-to-end lab against real multipathd in QEMU guests ---
lab-test:
	./tests/lab/run

# --- Proxmox VE 9's base: `make test` and `make deb-test` in Debian trixie ---
.PHONY: test-trixie
test-trixie:
	./tests/trixie/run

# --- the web UI panels (patches/pve-manager) in a real browser, see ui/README.md ---
UI_BUILD := build/ui
UI_DEMO_LISTEN ?= 127.0.0.1:8006
.PHONY: ui-deps ui-www ui-lint ui-test ui-demo

ui-deps:
	./ui/install-deps

ui-www: ui-deps
	./ui/tests/build-www $(UI_BUILD)/www

# proxmox-biome's style and the lint rules upstream's own code passes (ui/biome.json)
ui-lint: ui-www
	ui/node_modules/.bin/biome format --config-path=ui/biome.json $(UI_BUILD)/www/patched
	ui/node_modules/.bin/biome lint --error-on-warnings --config-path=ui/biome.json \
		$(UI_BUILD)/www/patched
	./ui/tests/check-patches

ui-test: build-selftest ui-lint
	$(PERL_ENV) UI_WWW=$(UI_BUILD)/www UI_OUT=$(UI_BUILD) node ui/tests/ui-test.js

ui-demo: build-selftest ui-www
	$(PERL_ENV) $(PERL) ui/tests/api-server --www $(UI_BUILD)/www --listen $(UI_DEMO_LISTEN)
