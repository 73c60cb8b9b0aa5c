# The two commands of README.md. Both set up .venv first (once; later runs reuse it).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CONFIG ?= configs/LTShapes/det_faster_r18gn_softmax_demo.yaml

.PHONY: setup demo test

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PY) tools/train_net.py --config-file $(DEMO_CONFIG)

test: setup
	$(PY) -m pytest -q tests
