# The two commands of the Quick start are `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALES := en fil id vi th km my

.PHONY: serve test check messages icons bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/hub serve

test: $(STAMP)
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/ruff check hub tests bench scripts
	$(BIN)/ruff format --check hub tests bench scripts
	$(BIN)/mypy

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -k pgettext:1c,2 \
		--project=hub --copyright-holder="Hub contributors" -o locales/messages.pot .
	for loc in $(LOCALES); do \
		if [ -f locales/$$loc/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot -d locales -l $$loc; \
		else \
			$(BIN)/pybabel init -i locales/messages.pot -d locales -l $$loc; \
		fi; \
	done

icons: $(STAMP)
	$(BIN)/python scripts/make_icons.py

bench: $(STAMP)
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/offline.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
