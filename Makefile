# wangge: the two commands a new machine needs.
#   make run    builds wangge and serves the demo dataset on http://127.0.0.1:8080
#   make test   builds wangge and runs every test, the format, lint and doc checks
#
# cmake (needed to build PROJ from source) is installed into .tools/ from PyPI
# when the machine has none. The real-client tests need GDAL and QGIS from
# Debian, the PostgreSQL store's tests PostgreSQL and PostGIS: .ci/provision
# installs them with apt-get when run as root, and otherwise names the packages
# to install.

SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools
CMAKE_VENV := $(TOOLS)/venv
# Outside the clone, so later clones (and CI runs) reuse the PROJ build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/wangge/target
export PATH := $(CMAKE_VENV)/bin:$(PATH)
BIN := $(CARGO_TARGET_DIR)/release/wangge
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= $(CURDIR)/wangge-data

.PHONY: run test build tools clients check bench clean-data

tools:
	@if ! command -v cmake >/dev/null 2>&1; then \
	  echo "installing cmake into $(CMAKE_VENV)"; \
	  python3 -m venv $(CMAKE_VENV) && \
	  $(CMAKE_VENV)/bin/pip install --quiet --disable-pip-version-check 'cmake>=3.20,<4'; \
	fi
	@cmake --version | head -1

clients:
	@.ci/provision

build: tools
	cargo build --release --locked

run: build
	$(BIN) serve --listen $(LISTEN) --data-dir $(DATA_DIR) --load data/demo

test: build clients
	cargo test --release --locked
	# The engine alone (no service, no SQLite, no PROJ) still builds.
	cargo check --release --locked --no-default-features --lib
	cargo fmt --check
	cargo clippy --release --locked --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --release --locked --no-deps

bench: build
	cargo bench --locked

clean-data:
	rm -rf $(DATA_DIR)
