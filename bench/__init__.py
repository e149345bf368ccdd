"""vkpipe's benchmarks: each module's `run(quick)` returns figures; `python -m bench` runs them."""
