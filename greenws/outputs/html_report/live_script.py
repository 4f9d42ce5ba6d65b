"""The few lines of script that make the report page live.

The page is drawn on the server by ``render.py``, the same for a running test and for the file
written at the end; this script only swaps in each new ``<main>`` the dashboard sends as a
server-sent event, and on ``end`` the final page with its data, then closes the stream so the
browser stops asking a server that is gone. Inline, like the stylesheet: the page fetches
nothing but its own events.
"""

from __future__ import annotations

import json

__all__ = ["live_script"]

_SCRIPT = """
(function () {
  var main = document.querySelector('main');
  var status = document.getElementById('greenws-live-status');
  var data = document.getElementById('greenws-report-data');
  var source = new EventSource(%s);
  var updates = 0;
  function show(event, final) {
    var message = JSON.parse(event.data);
    main.innerHTML = message.main;
    if (message.data) { data.textContent = message.data; }
    updates += 1;
    document.body.dataset.updates = String(updates);
    status.textContent = final ? 'test finished: this is the final report'
      : 'live: updated ' + new Date().toLocaleTimeString();
  }
  source.addEventListener('update', function (event) { show(event, false); });
  source.addEventListener('end', function (event) {
    source.close();
    show(event, true);
    document.body.dataset.finished = '1';
  });
  source.onerror = function () {
    if (!document.body.dataset.finished) { status.textContent = 'live: reconnecting'; }
  };
})();
"""


def live_script(events_url: str) -> str:
    """A ``<script>`` block that follows ``events_url``."""
    source = _SCRIPT % json.dumps(events_url).replace("<", "\\u003c")
    return f"<script>{source}</script>"
