"""The REST tunnel through relay_robot: forward_rest hands requests to the robot's local API
(Python's http.server here) with the SDK's C++ forwarder, and on_http_request answers them from
Python with JSON, bytes or text."""
import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import relay_robot


class LocalApi(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):
        LocalApi.seen.append(("GET", self.path))
        if self.path.startswith("/api/status"):
            body = json.dumps({"battery": 0.8, "mode": "idle"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Robot", "python-test")
        else:
            body = b"\x89PNG\r\n\x1a\n\x00\x01binary"
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        LocalApi.seen.append(("POST", self.path, json.loads(self.rfile.read(length))))
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        body = b'{"mission":"m1"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), LocalApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    LocalApi.seen = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_forward_rest_to_local_api(relayd, local_api):
    owner = relayd.account()
    secret = owner.device("py-rest")

    async def main():
        loop = asyncio.get_running_loop()
        client = relay_robot.Client(relayd.url, "py-rest", secret=secret)
        with pytest.raises(ValueError):
            client.forward_rest("https://127.0.0.1:1")
        client.forward_rest(f"http://127.0.0.1:{local_api}/api")
        async with client:
            await client.wait_connected(timeout=20)

            def call(method, path, body=None):
                return relayd.http(method, f"/api/devices/py-rest/rest{path}", body, owner.token)

            status, body = await loop.run_in_executor(None, call, "GET", "/status?verbose=1")
            assert status == 200 and body == {"battery": 0.8, "mode": "idle"}
            status, body = await loop.run_in_executor(None, call, "GET", "/photos/1.png")
            assert status == 200 and body == b"\x89PNG\r\n\x1a\n\x00\x01binary"
            status, body = await loop.run_in_executor(None, call, "POST", "/missions/start", {"goal": "kitchen"})
            assert (status, body) == (201, {"mission": "m1"})
        assert LocalApi.seen == [("GET", "/api/status?verbose=1"), ("GET", "/api/photos/1.png"),
                                 ("POST", "/api/missions/start", {"goal": "kitchen"})]

    asyncio.run(main())


def test_on_http_request_from_python(relayd):
    owner = relayd.account()
    secret = owner.device("py-http")

    async def main():
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()
        client = relay_robot.Client(relayd.url, "py-http", secret=secret)
        threads = []

        @client.on_http_request
        async def handle(req):
            threads.append(threading.get_ident())
            if req["path"] == "/status":
                return 200, {"X-Robot": "py"}, {"query": req["query"], "method": req["method"]}
            if req["path"] == "/photos/raw":
                return 200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff"
            if req["path"] == "/mode":
                return 200, {}, "docked"
            if req["path"] == "/missions/start":
                return 201, {}, {"got": req["body"]}
            raise RuntimeError("bug in the handler")

        async with client:
            await client.wait_connected(timeout=20)

            def call(method, path, body=None):
                return relayd.http(method, f"/api/devices/py-http/rest{path}", body, owner.token)

            status, body = await loop.run_in_executor(None, call, "GET", "/status?x=1")
            assert status == 200 and body == {"query": "x=1", "method": "GET"}
            status, body = await loop.run_in_executor(None, call, "GET", "/photos/raw")
            assert status == 200 and body == b"\xff\xd8\xff"
            status, body = await loop.run_in_executor(None, call, "GET", "/mode")
            assert status == 200 and body == b"docked"
            status, body = await loop.run_in_executor(None, call, "POST", "/missions/start", {"a": 1})
            assert status == 201 and body == {"got": {"a": 1}}
            status, body = await loop.run_in_executor(None, call, "GET", "/reports/weekly")
            assert status == 500 and body["error"]["code"] == "INTERNAL"
        assert len(threads) == 5 and all(t == loop_thread for t in threads)

    asyncio.run(main())
