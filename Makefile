# Everyday commands. `make run` serves on embedded SQLite with a demo catalogue;
# `make test` runs every test (PostgreSQL from TEST_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/postgres).

CARGO ?= cargo

.PHONY: run test lint fmt migrate build release

run:
	$(CARGO) run -p api-actix -- seed-demo
	$(CARGO) run -p api-actix -- serve

test:
	$(CARGO) test --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

migrate:
	$(CARGO) run -p api-actix -- migrate

release:
	$(CARGO) build --release -p api-actix
