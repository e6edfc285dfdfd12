.PHONY: demo test test-fast lint bench

demo:  ## fresh embedded database, demo data, web + worker on 127.0.0.1:8000
	scripts/bootstrap && .venv/bin/partnerhub demo

test:  ## the whole test suite (DATABASE_URL=postgres://… for PostgreSQL)
	scripts/test

test-fast:  ## the inner loop: no browser or worker-process tests, two processes
	scripts/bootstrap && PARTNERHUB_DEV=1 .venv/bin/pytest -q -m "not browser and not slow" -n 2

lint:
	scripts/bootstrap && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy $$(ls -d partnerhub bench 2>/dev/null) && .venv/bin/lint-imports --no-cache
