"""``greenws run --dashboard``: the HTML report, live, served by the greenws process.

``settings`` reads the flags and environment (pure), ``server`` serves the page and its
server-sent events on the hub, ``plugin`` feeds both from the samples and writes the frozen page
at the end (``--dashboard-export``). The page itself is ``greenws.outputs.html_report``'s.
"""
