# The two commands of the Quick start are `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALES := en fil id vi th km my

.PHONY: serve test test-quick check messages icons screenshots bench clean mutants

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/hub serve

# One pytest worker per CPU (pytest-xdist): the 2-core CI machine runs the suite in about 10
# minutes instead of 15 (docs/testing.md).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

# The quick layer while working: no browser, nothing over ~2 s (docs/testing.md).
test-quick: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not browser and not slow"

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

# The console's screenshots in docs/content-guide.md, taken from a running hub with the system
# Chromium (scripts/screenshots.py).
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

# Every script runs even when one misses a budget; the target fails if any did.
bench: $(STAMP)
	@status=0; for script in pages offline startup search store; do \
		if [ -f bench/$$script.py ]; then \
			echo "== bench/$$script.py"; $(BIN)/python bench/$$script.py || status=1; echo; \
		fi; \
	done; exit $$status

# Mutation testing (docs/testing.md): slow, so neither `make test` nor CI runs it. mutmut mutates
# a copy under mutants/, never hub/; `mutmut show NAME` prints a mutant it lists.
MUTANTS := "hub.i18n.x_parse_accept_language__mutmut_*" "hub.i18n.x*negotiate__mutmut_*" \
	"hub.middleware.*" "hub.response_cache.*" "hub.content.services.*" "hub.content.search.*" \
	"hub.auth.*" "hub.audit.*" "hub.console_guard.*" "hub.push.*"
mutants: $(STAMP)
	nice -n 19 $(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results | grep -v "not checked" || true

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
