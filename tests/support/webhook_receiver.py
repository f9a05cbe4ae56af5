"""A webhook receiver for the end-to-end tests (tests/webhooks.rs), on 127.0.0.1 only.

Every POST to /hooks/<name> is verified with the official Standard Webhooks library against
each secret the test gave for <name>, recorded (headers, body, verification per secret, arrival
time) and answered as configured: the first `failFirst` requests with `failStatus` (and a
`Retry-After` of `retryAfter` seconds, if set), the rest with 204.

  POST /__config/<name>  {"secrets": {"label": "whsec_…"}, "failFirst": 3, "failStatus": 503}
  GET  /__deliveries     every request received, in arrival order

Usage: webhook_receiver.py <port-file>   (listens on a free port, writes it to <port-file>)
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LOCK = threading.Lock()
CONFIG = {}
DELIVERIES = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/__deliveries":
            with LOCK:
                self.answer(200, DELIVERIES)
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self):
        arrived = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if self.path.startswith("/__config/"):
            with LOCK:
                CONFIG[self.path[len("/__config/"):]] = json.loads(body)
            self.answer(200, {"ok": True})
            return
        if not self.path.startswith("/hooks/"):
            self.answer(404, {"error": "not found"})
            return
        name = self.path[len("/hooks/"):]
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            config = CONFIG.get(name, {})
            seen = sum(1 for d in DELIVERIES if d["name"] == name)
            verified = {}
            for label, secret in config.get("secrets", {}).items():
                try:
                    Webhook(secret).verify(body, headers)
                    verified[label] = True
                except WebhookVerificationError:
                    verified[label] = False
            failing = seen < config.get("failFirst", 0)
            status = config.get("failStatus", 503) if failing else 204
            DELIVERIES.append({
                "name": name,
                "arrivedAt": arrived,
                "webhookId": headers.get("webhook-id"),
                "webhookTimestamp": headers.get("webhook-timestamp"),
                "webhookSignature": headers.get("webhook-signature"),
                "body": body,
                "verified": verified,
                "answered": status,
            })
        extra = []
        if failing and config.get("retryAfter") is not None:
            extra.append(("Retry-After", str(config["retryAfter"])))
        self.answer(status, headers=extra)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
