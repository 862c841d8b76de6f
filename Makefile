# trafficlens: the main jobs. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= configs/default.toml
MODEL  ?= models/default
# the model is retrained when the code that trains, saves or preprocesses for it changes
MODEL_CODE := $(wildcard pipeline/model/*.py pipeline/text/*.py)
SPLITS := data/splits
HOLDOUT := data/corpus/holdout_writer.jsonl
DOCS   := data/documents
DOC_SPLITS := $(DOCS)/splits
DOC_HOLDOUT := $(DOCS)/sentences/wG.jsonl

.PHONY: help venv run train evaluate predict bench curve test screenshot lint split check clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install the project with its dev tools

$(MODEL)/model.json: $(STAMP) $(DOC_SPLITS)/train.jsonl $(CONFIG) configs/cues.toml $(MODEL_CODE)
	$(BIN)/trafficlens train --config $(CONFIG) --out $(MODEL) --force

run: $(MODEL)/model.json  ## set up, train the default model if needed, label data/examples
	$(BIN)/trafficlens predict data/examples --model $(MODEL) --out reports/examples/predictions.jsonl
	$(BIN)/trafficlens predict data/examples --model $(MODEL) --out reports/examples/predictions.csv --quiet
	$(BIN)/trafficlens summarize reports/examples/predictions.jsonl --out reports/examples/summary
	$(BIN)/trafficlens predict data/examples --model $(MODEL) --level sentence --out reports/examples/sentences.jsonl --quiet
	$(BIN)/trafficlens report reports/examples/predictions.jsonl reports/examples/sentences.jsonl --out reports/examples/collection.html

train: $(STAMP)  ## (re)train models/default on the config's paths.train
	$(BIN)/trafficlens train --config $(CONFIG) --out $(MODEL) --force

evaluate: $(MODEL)/model.json  ## sentence- and document-level reports: document test split (gated), writer hold-out, passages
	$(BIN)/trafficlens evaluate --model $(MODEL) --data $(DOC_SPLITS)/test.jsonl --report-dir reports/eval --gate
	$(BIN)/trafficlens evaluate --model $(MODEL) --data $(DOC_HOLDOUT) --report-dir reports/holdout
	$(BIN)/trafficlens evaluate --model $(MODEL) --data $(SPLITS)/test.jsonl --report-dir reports/eval-passages
	@if [ -f $(HOLDOUT) ]; then \
	  $(BIN)/trafficlens evaluate --model $(MODEL) --data $(HOLDOUT) --report-dir reports/holdout-passages; fi

predict: $(MODEL)/model.json  ## label data/examples into reports/examples/predictions.jsonl
	$(BIN)/trafficlens predict data/examples --model $(MODEL) --out reports/examples/predictions.jsonl

bench: $(MODEL)/model.json  ## speed and memory benchmarks -> docs/benchmarks.md, docs/report-benchmark.md
	$(BIN)/python benchmarks/bench.py --model $(MODEL) --out docs/benchmarks.md
	$(BIN)/python benchmarks/report_bench.py --model $(MODEL) --out docs/report-benchmark.md

split: $(STAMP)  ## rewrite data/splits (passages) and data/documents/splits (by document)
	$(BIN)/trafficlens data split data/corpus --out-dir $(SPLITS) --config $(CONFIG)
	$(BIN)/trafficlens data split $(DOCS)/sentences --out-dir $(DOC_SPLITS) --config $(CONFIG)

check: $(STAMP)  ## run the quality checks of both corpora
	$(BIN)/trafficlens data check data/corpus --config $(CONFIG)
	$(BIN)/trafficlens data check $(DOCS)/sentences --config $(CONFIG)

curve: $(STAMP)  ## learning curve on the document writer hold-out -> docs/learning-curve.md
	$(BIN)/python benchmarks/learning_curve.py --config $(CONFIG) --out docs/learning-curve.md

test: $(STAMP)  ## set up and run the test suite (the HTML report's browser tests need chromium)
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "note: Chromium or ChromeDriver not found: the browser tests of the HTML report will be"; \
	  echo "      SKIPPED (install them with: apt-get install chromium chromium-driver)"; fi
	$(BIN)/python -m pytest -q

screenshot: run  ## screenshot of reports/examples/collection.html -> docs/img/collection.png
	$(BIN)/python benchmarks/screenshot.py reports/examples/collection.html --out docs/img/collection.png

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check pipeline tests

clean:  ## remove caches and reports (keeps .venv and models)
	rm -rf .cache reports .pytest_cache .ruff_cache
