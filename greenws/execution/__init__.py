"""Running a test: the engine's phases, executors, the flusher, ``--workers`` and signals.

The engine builds the run's :class:`~greenws.runtime.context.RunContext` and hands it to the
VUs; nothing below this package imports it.
"""
