"""A misbehaving InfluxDB stand-in on 127.0.0.1: ``500`` answers every write with HTTP 500,
``slow DELAY`` answers 204 after DELAY seconds, ``ok`` answers 204 at once and only counts
newlines (the benchmarks' trivial server: as cheap as a server can be), ``hang`` reads every POST (``CREATE DATABASE`` included) and never answers. It counts
the lines it accepted; ``GET /count`` returns that number. Prints ``listening on HOST:PORT``
first, like every test server here.
"""

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
accepted = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._reply(200, str(accepted).encode())

    def do_POST(self):
        global accepted
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if MODE == "hang":
            while True:  # the connection stays open, the answer never comes
                time.sleep(3600)
        if not self.path.startswith("/write"):
            self._reply(200, b"{}")  # CREATE DATABASE
            return
        if MODE == "ok":
            with lock:
                accepted += body.count(b"\n") + 1
            self._reply(204)
            return
        if MODE == "500":
            self._reply(500, b'{"error":"internal failure"}')
            return
        time.sleep(DELAY)
        with lock:
            accepted += len([line for line in body.splitlines() if line.strip()])
        self._reply(204)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True  # hanging handlers must not keep the process alive
print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
