"""The machinery behind `benchmarks/run.py`: venvs, the echo server, sampling, reporting.

Split into small modules so each can be read on its own; none imports greenws, because the harness
must be able to measure the peers even while greenws does not start.
"""
