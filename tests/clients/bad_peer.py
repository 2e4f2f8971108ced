#!/usr/bin/env python3
"""A misbehaving federation peer, for tests: `bad_peer.py MODE PORT [VICTIM_BASE]`.

Its /actor is well-formed (so it can be followed); its /outbox misbehaves per MODE:
- garbage: one valid worker among a malformed JSON-LD object, a worker that violates
  our shapes, an activity without a sequence number, and a resource under VICTIM_BASE
  (another server's base URL), which an origin may not publish;
- huge: a page larger than any sane limit (17 MiB);
- hang: accepts the connection and never answers.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
PORT = int(sys.argv[2])
VICTIM = sys.argv[3] if len(sys.argv) > 3 else "http://victim.invalid/"
BASE = f"http://127.0.0.1:{PORT}/"
CONTEXT = BASE + "context.jsonld"


def worker(slug, name=None):
    doc = {
        "@context": CONTEXT,
        "id": BASE + "workers/" + slug,
        "type": "Worker",
        "memberOf": BASE + "coops/bad",
    }
    if name is not None:
        doc["name"] = name
    return doc


def garbage_page():
    coop = {"@context": CONTEXT, "id": BASE + "coops/bad", "type": "Coop", "name": "Bad Co-op",
            "member": [BASE + "workers/good"]}
    items = [
        {"type": "Create", "seq": 1, "actor": BASE + "actor", "object": coop},
        {"type": "Create", "seq": 2, "actor": BASE + "actor", "object": worker("good", "Good Person")},
        {"type": "Create", "seq": 3, "object": {"@context": CONTEXT, "id": BASE + "workers/broken", "name": {"@value": []}}},
        {"type": "Create", "seq": 4, "object": worker("nameless")},
        {"type": "Create", "object": worker("unnumbered", "No Sequence")},
        {"type": "Update", "seq": 5, "object": {"@context": CONTEXT, "id": VICTIM + "workers/ada-lovelace", "type": "Worker", "name": "Hijacked"}},
    ]
    return {"type": "OrderedCollectionPage", "cursor": 5, "head": 5, "horizon": 0, "orderedItems": items}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_json(self, value):
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/activity+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client refused the body: that is the point of "huge"

    def do_GET(self):
        if self.path == "/actor":
            self.send_json({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": BASE + "actor",
                "type": "Service",
                "name": f"bad peer ({MODE})",
                "outbox": BASE + "outbox",
                "inbox": BASE + "inbox/",
            })
        elif self.path.startswith("/outbox"):
            if MODE == "hang":
                time.sleep(3600)
            elif MODE == "huge":
                filler = "x" * (17 * 1024 * 1024)
                self.send_json({"type": "OrderedCollectionPage", "cursor": 1, "head": 1, "orderedItems": [], "filler": filler})
            else:
                self.send_json(garbage_page())
        else:
            self.send_response(404)
            self.end_headers()


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
