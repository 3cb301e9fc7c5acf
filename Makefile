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

# End-to-end: builds, serves a seeded temporary SQLite database on a free port, validates
# both OpenAPI documents and drives Swagger UI in headless Chromium (scripts/e2e.sh).
# Installs its own tools into .e2e/ (and Debian's chromium if missing) on first run.
.PHONY: e2e
e2e:
	CI=true bash scripts/e2e.sh
