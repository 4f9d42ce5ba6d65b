"""Drive greenws's own Socket through the Autobahn fuzzing server's cases (the standard agent flow).

``AUTOBAHN_CASES`` lists the case ids the server runs, in its order (``/runCase?case=N`` is the
N-th); it tells the agent which compression offer each case needs, as Autobahn's own client
agents pick theirs per case. kosoku has no ``/getCaseInfo``, so the list comes from the test.
"""

import os

from greenws import ws

# One iteration drives every case; the full 12/13 run takes longer than the default 10 minute
# maxDuration on a busy machine, and being cut short would only show up as missing cases.
options = {
    "scenarios": {
        "agent": {
            "executor": "per-vu-iterations",
            "vus": 1,
            "iterations": 1,
            "maxDuration": "60m",
        }
    }
}
BASE = os.environ.get("AUTOBAHN_URL", "ws://127.0.0.1:9001")
AGENT = "greenws"
CASES = [case for case in os.environ.get("AUTOBAHN_CASES", "").split(",") if case]

# The client offers of Autobahn's case13_x_x (its PerMessageDeflateOffer always adds
# client_no_context_takeover and client_max_window_bits), by 13.x subsection.
_AUTOBAHN = "deflate; client_no_context_takeover; client_max_window_bits"
OFFERS_13 = {
    "13.1": _AUTOBAHN,
    "13.2": f"{_AUTOBAHN}; server_no_context_takeover",
    "13.3": f"{_AUTOBAHN}; server_max_window_bits=9",
    "13.4": f"{_AUTOBAHN}; server_max_window_bits=15",
    "13.5": f"{_AUTOBAHN}; server_no_context_takeover; server_max_window_bits=9",
    "13.6": f"{_AUTOBAHN}; server_no_context_takeover; server_max_window_bits=15",
    "13.7": [
        f"{_AUTOBAHN}; server_no_context_takeover; server_max_window_bits=9",
        f"{_AUTOBAHN}; server_no_context_takeover",
        _AUTOBAHN,
    ],
}


def params_for(case_id):
    """12.x uses greenws's own default offer ("deflate", context takeover), 13.x Autobahn's."""
    if case_id.startswith("12."):
        return {"compression": "deflate"}
    section = ".".join(case_id.split(".")[:2])
    if section in OFFERS_13:
        return {"compression": OFFERS_13[section]}
    return None


def default():
    count = []

    def read_count(socket):
        socket.on("message", lambda message: count.append(int(message)))

    ws.connect(f"{BASE}/getCaseCount", None, read_count)
    if CASES and len(CASES) != count[0]:
        raise RuntimeError(f"the server runs {count[0]} cases, AUTOBAHN_CASES lists {len(CASES)}")

    def echo(socket):
        socket.on("message", lambda message: socket.send(message))
        socket.on("binaryMessage", lambda data: socket.send_binary(data))

    for case in range(1, count[0] + 1):
        params = params_for(CASES[case - 1]) if CASES else None
        ws.connect(f"{BASE}/runCase?case={case}&agent={AGENT}", params, echo)
    ws.connect(f"{BASE}/updateReports?agent={AGENT}", None, None)
