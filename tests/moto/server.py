"""moto's real server (IAM, STS, ...) wrapped for nhiscope's tests and benchmarks.

What the wrapper adds in front of moto's WSGI app, on control paths under /_nhiscope/:
- a clock: IAM timestamps come from `moto.iam.models.utcnow`, replaced by "now minus an
  offset" so seeders can create users, keys and roles of any age (POST /_nhiscope/clock);
- fault injection, a proxy layer between the client and moto (POST /_nhiscope/faults): for
  a given IAM/STS Action answer 429 throttling, 503, 500, AccessDenied, or drop the
  connection, a number of times or always;
- a call counter per Action (GET /_nhiscope/calls, POST /_nhiscope/calls/reset), the
  server-side figure benchmarks compare.

Started by the test harness on 127.0.0.1 with a free port; prints `READY <port>` when up.
"""

import datetime
import io
import json
import os
import socket
import sys
import threading
import urllib.parse

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

import moto.iam.models as iam_models  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

_real_utcnow = iam_models.utcnow
_offset = datetime.timedelta(0)
_lock = threading.Lock()
_faults = []  # dicts: action, kind, times (remaining; -1 = always)
_calls = {}


def _utcnow():
    return _real_utcnow() - _offset


iam_models.utcnow = _utcnow

ERRORS = {
    "throttle": (400, "Throttling", "Rate exceeded"),
    "throttle429": (429, "Throttling", "Rate exceeded"),
    "unavailable": (503, "ServiceUnavailable", "Service is unavailable"),
    "error500": (500, "InternalFailure", "We encountered an internal error"),
    "access_denied": (403, "AccessDenied", "User is not authorized to perform this action"),
}


def _error_body(code, message):
    return (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class Wrapper:
    def __init__(self, app):
        self.app = app

    def control(self, environ, start_response, path):
        global _offset
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        with _lock:
            if path == "/_nhiscope/clock":
                _offset = datetime.timedelta(days=float(payload.get("offset_days", 0)))
                return _json(start_response, {"offset_days": _offset.total_seconds() / 86400})
            if path == "/_nhiscope/faults":
                _faults[:] = payload.get("faults", [])
                return _json(start_response, {"faults": _faults})
            if path == "/_nhiscope/calls":
                return _json(start_response, {"calls": _calls, "total": sum(_calls.values())})
            if path == "/_nhiscope/calls/reset":
                _calls.clear()
                return _json(start_response, {"ok": True})
        return _json(start_response, {"error": "unknown control path"}, "404 Not Found")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_nhiscope/"):
            return self.control(environ, start_response, path)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        action = (params.get("Action") or query.get("Action") or [""])[0]
        if not action:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            action = target.split(".")[-1] if target else "(rest)"
        fault = None
        with _lock:
            _calls[action] = _calls.get(action, 0) + 1
            for f in _faults:
                if f.get("action") in (action, "*") and f.get("times", -1) != 0:
                    if f.get("times", -1) > 0:
                        f["times"] -= 1
                    fault = f["kind"]
                    break
        if fault == "drop":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            return []
        if fault in ERRORS:
            status, code, message = ERRORS[fault]
            data = _error_body(code, message)
            reason = {400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
            start_response(f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
            return [data]
        return self.app(environ, start_response)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app = Wrapper(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
