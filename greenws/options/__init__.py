"""Options: what a test asks for, as k6 reads, layers and turns it into scenarios. Pure.

- :mod:`.values` and :mod:`.durations`: one option value each (durations, stages, tags…);
- :mod:`.layers`: the ``Options`` record and k6's layering (config file < script < env < CLI);
- :mod:`.scenarios`: k6's executors, their keys and defaults;
- :mod:`.derive`: from options to the scenarios this process runs (shortcuts, segments, VU ids);
- :mod:`.segments` and :mod:`.schedule`: execution segments, and VUs or arrivals over time.
"""
