# Everything a newcomer needs; each target sets up .venv first if needed.
PROJECT ?= .
VENV := .venv/bin

TEST_EXTRAS := test,training,eval

.PHONY: setup setup-dev run tui test lint bench clean

setup: .venv/.installed            ## the app only: daemon, TUI, embedded model

setup-dev: .venv/.installed-test-training-eval   ## plus training, evaluation and test tools

.venv/.installed: pyproject.toml scripts/setup.sh
	scripts/setup.sh

.venv/.installed-test-training-eval: pyproject.toml scripts/setup.sh
	scripts/setup.sh $(TEST_EXTRAS)

run: setup            ## the daemon in the foreground on PROJECT, printing suggestions
	$(VENV)/takeaways watch $(PROJECT)

tui: setup            ## the terminal UI beside your editor (starts the daemon if needed)
	$(VENV)/takeaways-tui $(PROJECT)

test: setup-dev         ## lint, then the whole test suite (real model, real watchdog, real server)
	$(VENV)/ruff check .
	$(VENV)/python -m pytest

bench: setup-dev        ## performance reports (ratios against baselines measured in the same run)
	$(VENV)/python bench/latency.py
	$(VENV)/python bench/watch.py

clean:
	rm -rf .venv .pytest_cache .ruff_cache .mypy_cache
