# Everyday commands. `make run` serves on embedded SQLite with a demo catalogue;
# `make test` runs every test (PostgreSQL from TEST_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/postgres; Redis from TEST_REDIS_URL, default
# redis://127.0.0.1:6379).

CARGO ?= cargo

.PHONY: run test lint fmt migrate build release

run:
	$(CARGO) run -p api-actix -- seed-demo
	$(CARGO) run -p api-actix -- serve

test:
	$(CARGO) test --workspace --all-targets --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

migrate:
	$(CARGO) run -p api-actix -- migrate

release:
	$(CARGO) build --release -p api-actix

# End-to-end: builds, serves a seeded temporary SQLite database on a free port, validates
# both OpenAPI documents and drives Swagger UI in headless Chromium (scripts/e2e.sh).
# Installs its own tools into .e2e/ (and Debian's chromium if missing) on first run.
.PHONY: e2e
e2e:
	CI=true bash scripts/e2e.sh

# Benchmarks (docs/BENCHMARKS.md): the server as its own process on throw-away
# PostgreSQL and SQLite databases, driven over HTTP; one Markdown table on stdout.
# BENCH_POSTGRES_URL names a PostgreSQL server where databases may be created
# (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_ARGS adds flags
# (see `bench --help`). bench-smoke checks correctness rather than speed: every
# workload for 2 s on 16 connections, the live one with 16 seat streams, with the
# debug build; non-zero on any error (a missing seat event included).
BENCH_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
BENCH_ARGS ?=

.PHONY: bench bench-smoke

bench:
	$(CARGO) build --release -p api-actix -p bench
	$(BENCH_TARGET_DIR)/release/bench $(BENCH_ARGS)

bench-smoke:
	$(CARGO) build -p api-actix -p bench
	$(BENCH_TARGET_DIR)/debug/bench --duration 2 --connections 16 --streams 16 $(BENCH_ARGS)
