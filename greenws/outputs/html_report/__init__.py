"""``--out html=FILE``: a self-contained HTML report of the run (see ``plugin.py``).

``series`` buckets samples over time with bounded memory, ``breakdown`` aggregates per scenario
and per group, ``charts`` and ``render`` turn plain data into the page; all four are pure.
"""
