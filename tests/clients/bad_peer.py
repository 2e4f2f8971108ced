#!/usr/bin/env python3
"""A misbehaving federation peer, for tests: `bad_peer.py MODE PORT [ARG]`.

Its /actor is well-formed (so it can be followed); its /outbox misbehaves per MODE:
- garbage: one valid worker among a malformed JSON-LD object, a worker that violates
  our shapes, an activity without a sequence number, and a resource under ARG
  (another server's base URL), which an origin may not publish;
- huge: a page larger than any sane limit (17 MiB);
- hang: accepts the connection and never answers.

As a follower (ARG is the publicKeyMultibase its actor publishes; the test signs its
Follow with the matching private key), its /inbox/ misbehaves per MODE:
- hang-inbox: accepts deliveries' connections and never answers;
- poison: answers 503 to the first delivery, 400 to any activity whose object's id
  contains "poison" until POST /heal, and 202 otherwise; GET /received lists the object ids
  of what it took.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
PORT = int(sys.argv[2])
VICTIM = sys.argv[3] if len(sys.argv) > 3 else "http://victim.invalid/"
KEY = sys.argv[3] if len(sys.argv) > 3 else ""
STATE = {"posts": 0, "healed": False, "received": []}
LOCK = threading.Lock()
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

    def send_status(self, status, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        if self.path == "/heal":
            with LOCK:
                STATE["healed"] = True
            return self.send_status(204)
        if self.path != "/inbox/":
            return self.send_status(404)
        if MODE == "hang-inbox":
            time.sleep(3600)
            return
        activity = json.loads(body)
        if activity.get("type") in ("Accept", "Reject"):
            return self.send_status(202)
        with LOCK:
            STATE["posts"] += 1
            first = STATE["posts"] == 1
            healed = STATE["healed"]
        if first:
            return self.send_status(503, [("Retry-After", "1")])
        obj = activity.get("object")
        obj_id = obj.get("id") if isinstance(obj, dict) else obj
        if "poison" in str(obj_id) and not healed:
            problem = json.dumps({"title": "Bad Request", "status": 400, "detail": "this follower cannot take poison"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(problem)))
            self.end_headers()
            self.wfile.write(problem)
            return
        with LOCK:
            STATE["received"].append(obj_id)
        self.send_status(202)

    def do_GET(self):
        if self.path == "/received":
            with LOCK:
                self.send_json(STATE["received"])
        elif self.path == "/actor":
            actor = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": BASE + "actor",
                "type": "Service",
                "name": f"bad peer ({MODE})",
                "outbox": BASE + "outbox",
                "inbox": BASE + "inbox/",
            }
            if KEY.startswith("z"):
                actor["assertionMethod"] = [{
                    "id": BASE + "actor#main-key",
                    "type": "Multikey",
                    "controller": BASE + "actor",
                    "publicKeyMultibase": KEY,
                }]
            self.send_json(actor)
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
