"""``wss://`` with the new APIs: several TLS sockets on one VU's loop, and ``ws.open`` over TLS.

TLS matters to the loop because decrypted bytes can wait inside the SSL object where the file
descriptor's read watcher cannot see them; a message bigger than one read proves they are drained.
"""

from __future__ import annotations

from pathlib import Path

from websocket_scripts import run_logged


def test_several_tls_sockets_and_a_sequential_one(tmp_path: Path, tls_server: str) -> None:
    result, log = run_logged(
        tmp_path,
        """
options = {"insecureSkipTLSVerify": True, "iterations": 1}
BIG = bytes(range(256)) * 2048          # 512 KiB: more than one read of the socket

def default():
    for n in range(3):
        sock = WebSocket(TARGET + f"/echo?n={n}")
        sizes = []
        def opened(event):
            event.target.send("small")
            event.target.send(BIG)
        def message(event, sizes=sizes, n=n):
            sizes.append(len(event.data))
            if len(sizes) == 2:
                record("sizes", n, sizes, event.data == BIG)
                event.target.close()
        sock.onopen = opened
        sock.onmessage = message
        sock.onerror = lambda event: record("error", event.error)
    with ws.open(TARGET + "/seq") as sequential:
        record("request", len(sequential.request(BIG, timeout=10)))

""",
        tls_server,
    )
    assert result.returncode == 0, result.stderr
    assert log[0] == ["request", 512 * 1024]  # the VU blocks in ws.open before its loop runs
    assert sorted(log[1:]) == [["sizes", n, [5, 512 * 1024], True] for n in range(3)]
    assert result.metric("ws_sessions")["count"] == 4
    assert result.metric("ws_request_duration")["count"] == 1
