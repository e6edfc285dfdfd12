.PHONY: demo test lint bench

demo:  ## fresh embedded database, demo data, web + worker on 127.0.0.1:8000
	scripts/bootstrap && .venv/bin/partnerhub demo

test:  ## the whole test suite (DATABASE_URL=postgres://… for PostgreSQL)
	scripts/test

lint:
	scripts/bootstrap && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy $$(ls -d partnerhub bench 2>/dev/null) && .venv/bin/lint-imports --no-cache
