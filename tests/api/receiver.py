"""A real local HTTP server that receives webhook deliveries and checks their signatures."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tracker import clock
from tracker.webhooks.signing import SIGNATURE_HEADER, verify


class Receiver:
    """Listens on 127.0.0.1; answers with the queued status codes (then 200); keeps what came."""

    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.received: list[dict] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append(
                        {
                            "headers": dict(self.headers),
                            "body": body,
                            "json": json.loads(body),
                            "signed": receiver.secret is not None
                            and verify(
                                receiver.secret,
                                self.headers.get(SIGNATURE_HEADER, ""),
                                body,
                                int(clock.now().timestamp()),  # its clock agrees with ours
                            ),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
