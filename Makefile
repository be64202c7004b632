# Everything a newcomer needs; each target sets up .venv first if needed.
PROJECT ?= .
VENV := .venv/bin

TEST_EXTRAS := test,training,eval

.PHONY: setup setup-dev run watch test lint bench clean

setup: .venv/.installed            ## the app only: daemon, TUI, embedded model

setup-dev: .venv/.installed-test-training-eval   ## plus training, evaluation and test tools

# The dev set-up (`make test`) installs everything the app needs: its stamp, when newer than
# the inputs, stands for the app's too, so `make run` after `make test` does not set up again.
.venv/.installed: pyproject.toml scripts/setup.sh
	@if [ .venv/.installed-test-training-eval -nt pyproject.toml ] \
	    && [ .venv/.installed-test-training-eval -nt scripts/setup.sh ]; then \
	    touch $@; else scripts/setup.sh; fi

.venv/.installed-test-training-eval: pyproject.toml scripts/setup.sh
	scripts/setup.sh $(TEST_EXTRAS)

run: setup            ## the terminal UI on PROJECT; it starts the daemon (embedded model) if none runs
	scripts/run.sh $(PROJECT)

watch: setup          ## the daemon alone, in the foreground, printing suggestions
	$(VENV)/takeaways watch $(PROJECT)

test: setup-dev         ## lint, import contract and type-check, then the whole test suite (real model, real watchdog, real server)
	$(VENV)/ruff check .
	$(VENV)/lint-imports
	$(VENV)/mypy takeaways_daemon tui training
	$(VENV)/python -m pytest

bench: setup-dev        ## performance reports (ratios against baselines measured in the same run), written into README.md
	$(VENV)/python bench/to_readme.py --fence bench/latency.py
	$(VENV)/python bench/to_readme.py --fence bench/grammar_sampling.py
	$(VENV)/python bench/to_readme.py --fence bench/watch.py
	$(VENV)/python bench/to_readme.py bench/history.py
	$(VENV)/python bench/to_readme.py bench/tui.py
	$(VENV)/python bench/to_readme.py bench/eval.py
	$(VENV)/python bench/fix.py --readme README.md
	$(VENV)/python bench/parallel_candidates.py --readme README.md
	$(VENV)/python bench/train.py

clean:
	rm -rf .venv .pytest_cache .ruff_cache .mypy_cache
