# gr-stegsem: `make demo` runs the main job, `make test` the whole suite; both set up first.
PY := .venv/bin/python

.PHONY: setup demo test clean
setup:
	@bash tools/setup.sh

demo: setup
	$(PY) -m gr_stegsem demo

test: setup
	$(PY) -m pytest -q tests

clean:
	rm -rf out .pytest_cache
