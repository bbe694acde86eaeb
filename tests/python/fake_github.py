"""A fake GitHub REST API on 127.0.0.1 for tests/python/test_github.py (docs/github.md).

Serves fixtures for repository acme/calc (3 pages of issues, pull requests, comments, commit
lists) the way GitHub does: Link pagination, ETags with If-None-Match -> 304, `since`. Scripted
trouble, each once: a 403 secondary limit with retry-after 2 (or `secondary_retry_after`; issues
page 2), a 502 (the first pulls request), x-ratelimit-remaining 0 with a reset 2 s ahead (issues
page 3). Hostile repositories: acme/badjson (invalid JSON), acme/huge (a 50 MB body), acme/loop
(Link next to itself), acme/redirect (a redirect to another host). Every request is logged with
its headers.
"""

import hashlib
import http.server
import json
import threading
import time
import urllib.parse


class FakeGithub:
    def __init__(self, fixtures, secondary_retry_after=2):
        self.fixtures = fixtures  # path -> list of objects (or pages: list of lists)
        self.secondary_retry_after = secondary_retry_after  # seconds, of the scripted 403
        self.log = []  # (method, path, headers dict, status)
        self.lock = threading.Lock()
        self.scripted = {"secondary": True, "502": True, "primary": True}
        handler = self._handler()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # The 50 MB answer is cut off by the client on purpose: no traceback for that.
        self.httpd.handle_error = lambda request, address: None
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, prefix=""):
        with self.lock:
            return [e for e in self.log if e[1].startswith(prefix)]

    def _handler(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
                with fake.lock:
                    fake.log.append(("GET", self.path, dict(self.headers.items()), status))

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                path = url.path
                page = int(query.get("page", ["1"])[0])
                base = "http://127.0.0.1:%d" % fake.port
                # Hostile repositories.
                if path.startswith("/repos/acme/badjson/"):
                    return self.send(200, b'[{"number": 1, "title": "x"')
                if path.startswith("/repos/acme/huge/"):
                    return self.send(200, b"[" + b" " * (50 << 20) + b"]")
                if path.startswith("/repos/acme/loop/"):
                    return self.send(200, b"[]", [("Link", '<%s%s>; rel="next"' % (base, self.path))])
                if path.startswith("/repos/acme/redirect/"):
                    return self.send(302, b"", [("Location", "http://127.0.0.2:%d%s" % (fake.port, self.path))])
                if path not in fake.fixtures:
                    return self.send(404, b'{"message": "Not Found"}')
                pages = fake.fixtures[path]
                if not pages or not isinstance(pages[0], list):
                    pages = [pages]
                # Scripted trouble, once each.
                with fake.lock:
                    if path.endswith("/issues") and page == 2 and fake.scripted["secondary"]:
                        fake.scripted["secondary"] = False
                        trouble = "secondary"
                    elif path.endswith("/pulls") and fake.scripted["502"]:
                        fake.scripted["502"] = False
                        trouble = "502"
                    else:
                        trouble = None
                if trouble == "secondary":
                    return self.send(403, b'{"message": "You have exceeded a secondary rate limit"}',
                                     [("retry-after", str(fake.secondary_retry_after))])
                if trouble == "502":
                    return self.send(502, b"bad gateway")
                items = pages[page - 1] if page <= len(pages) else []
                since = query.get("since", [None])[0]
                if since:
                    items = [i for i in items if i.get("updated_at", "") >= since]
                body = json.dumps(items).encode()
                etag = 'W/"%s"' % hashlib.sha1(body).hexdigest()
                headers = [("ETag", etag), ("Content-Type", "application/json")]
                if page < len(pages):
                    q = dict(query)
                    q["page"] = [str(page + 1)]
                    nxt = "%s%s?%s" % (base, path, urllib.parse.urlencode(q, doseq=True))
                    headers.append(("Link", '<%s>; rel="next", <%s>; rel="last"' % (nxt, nxt)))
                if self.headers.get("If-None-Match") == etag:
                    return self.send(304, b"", [("ETag", etag)])
                with fake.lock:
                    primary = (path.endswith("/issues") and page == 3 and fake.scripted["primary"])
                    if primary:
                        fake.scripted["primary"] = False
                if primary:
                    headers += [("x-ratelimit-remaining", "0"),
                                ("x-ratelimit-reset", str(int(time.time()) + 2))]
                else:
                    headers += [("x-ratelimit-remaining", "4000")]
                return self.send(200, body, headers)

        return Handler
