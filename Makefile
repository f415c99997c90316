# codesign: `make demo` runs the co-design loop end to end (default task: control, 3 to 9
# minutes on 2 cores, by the machine) and ends with the report's path; `make test` runs the tests.
# Both set up what they need first (ngspice from the distribution, a virtualenv in .venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.codesign-installed
DEMO_DIR ?= runs/demo
DEMO_TASK ?= control
JOBS ?= auto

.PHONY: setup ngspice browser venv demo test test-fast bench lint golden docs clean

setup: ngspice browser venv

ngspice:
	@.ci/install-ngspice

# Chromium from the distribution: the report's browser test (tests/test_browser.py) drives it
browser:
	@.ci/install-chromium

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# torch's CPU wheel first where no torch is installed (a bare requirement would pull a CUDA build)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

demo: ngspice venv
	$(BIN)/codesign loop --task $(DEMO_TASK) --out $(DEMO_DIR)

# worksteal: a worker that runs out of tests takes the rest of the other's queue, and the longest
# tests come first (tests/conftest.py), so the two workers finish together (8 min on 2 quiet
# cores; 11 min with the plain load distribution, one worker waiting on the design search)
test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal -q

bench: setup
	@# the FNO of benchmarks/darcy.py imports torch_harmonics, whose release pins a newer torch,
	@# and neuralop 0.3.0 imports wandb (its logger) without declaring it; torchdeq is the DEQ
	@# library benchmarks/torchdeq_compare.py measures against
	$(BIN)/pip install -q --no-deps "torch-harmonics==0.9.3" "torchdeq==0.1.0"
	$(BIN)/pip install -q "wandb"
	$(BIN)/python -m benchmarks.run
	@# codesign verify from the command line against a one-parse ngspice alter loop (issue 22)
	$(BIN)/python -m benchmarks.verify_rate --repeats 2
	$(BIN)/python -m benchmarks.parts
	$(BIN)/python -m benchmarks.pdk_models
	$(BIN)/python -m benchmarks.accuracy_grid
	$(BIN)/python -m benchmarks.calibration
	$(BIN)/python -m benchmarks.training
	$(BIN)/python -m benchmarks.large_cores
	$(BIN)/python -m benchmarks.tiles
	$(BIN)/python -m benchmarks.darcy
	$(BIN)/python -m benchmarks.torchdeq_compare
	$(BIN)/python -m benchmarks.scaling
	@# grid cores (docs/grid.md): the models, their baselines, SPICE at 16 and 32, the residual
	@# term at 10/30/100 % labels, ngspice against the grid; then the tables from docs/results
	$(BIN)/codesign grid train --task poisson --out docs/results/grid-poisson.pt
	$(BIN)/codesign grid train --task darcy --residual-weight 0 --out docs/results/grid-darcy.pt
	$(BIN)/python -m benchmarks.grid_baselines --task poisson --out docs/results/grid-poisson-baselines.json --dense-out docs/results/grid-poisson-dense.pt
	$(BIN)/python -m benchmarks.grid_baselines --task darcy --out docs/results/grid-darcy-baselines.json --dense-out docs/results/grid-darcy-dense.pt
	for run in poisson-16 poisson-32 poisson-64 darcy-16 darcy-32; do \
	  $(BIN)/codesign verify docs/results/grid-$${run%-*}.pt --grid $${run#*-} --samples 64 \
	  --mismatch 0.05 --set array.row_trim=true --timeout 1800 \
	  --out runs/bench/grid-verify-$$run || exit 1; done
	$(BIN)/python -m benchmarks.grid_pde --task poisson --epochs 20 --channels 4 --inputs 2 \
	  --shape cross --transfer diffusive --encoder-stencil 1 --input-stencil 1 \
	  --activation identity --max-iter 400 --residual-weight 0.1 --sweep-labels 0.1,0.3,1.0 \
	  --out docs/results/grid-poisson-labels.json
	$(BIN)/python -m benchmarks.grid_scale
	@# subdomain SPICE against one process, 64 to 256 on a local Dask cluster (~25 min)
	$(BIN)/python -m benchmarks.grid_subdomain
	@# Kirchhoff network cores: Darcy and Poisson from the PDE's network, Poisson from random values,
	@# then their chips and the hand-built FD network in SPICE (~25 min)
	$(BIN)/python -m benchmarks.grid_network --task poisson --epochs 15 --out docs/results/grid-poisson-network.json
	$(BIN)/python -m benchmarks.grid_network --task darcy --epochs 20 --out docs/results/grid-darcy-network.json
	$(BIN)/python -m benchmarks.grid_network --task poisson --init random --epochs 15 --lr 1e-2 \
	  --out docs/results/grid-poisson-network-random.json
	@# the same PDE-initialised cores with current-output DACs (no loading sources)
	$(BIN)/python -m benchmarks.grid_network --task poisson --epochs 15 --sources current \
	  --out docs/results/grid-poisson-network-current.json
	$(BIN)/python -m benchmarks.grid_network --task darcy --epochs 20 --sources current \
	  --out docs/results/grid-darcy-network-current.json
	$(BIN)/python -m benchmarks.grid_network_spice --out docs/results/grid-network-spice.json
	@# the dense baseline's chip in SPICE on every test field at 16, 32 and 64 (~1 min)
	$(BIN)/python -m benchmarks.grid_dense_spice --out docs/results/grid-dense-spice.json
	@# the network chips' resistor spans and their accuracy held to a window (~2 min)
	$(BIN)/python -m benchmarks.grid_network_window --out docs/results/grid-network-window.json
	@# codesign verify of the trained Poisson models on one field, 16 to 128 (~6 min; after the models above)
	$(BIN)/python -m benchmarks.grid_verify_time --out docs/results/grid-command-time.json
	$(BIN)/python -m benchmarks.grid_tables --collect runs/bench/grid-verify-*

# The documentation site into build/site (mkdocs build --strict: a broken link fails it), after
# the README's figure, the API reference's pages, the measured tables (from docs/results) and the
# executed notebook are written again.
docs: setup
	$(BIN)/python docs/figures/flow.py
	$(BIN)/python docs/api/make_pages.py
	$(BIN)/python -m benchmarks.doc_tables
	$(BIN)/python docs/notebooks/make_api.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: setup
	$(BIN)/ruff check codesign tests benchmarks

# Rewrite the golden decks in netlists/golden from the current writer (review the diff!).
golden: setup
	$(BIN)/python -m tests.golden

clean:
	rm -rf runs .pytest_cache
