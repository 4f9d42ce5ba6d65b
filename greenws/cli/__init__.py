"""The ``greenws`` command: ``run`` (:mod:`.main`), ``merge``, ``inspect`` and the echo server.

The only place that monkey-patches (gevent) and turns errors into exit codes.
"""
