"""relay_robot: a robot's connection to the relay, for asyncio programs.

The C++ robot-sdk (relay::robot::client, in the extension relay_robot._native) does the work on
its own I/O thread; this module hands what it receives to the asyncio loop and runs the robot's
handlers there. See __init__.pyi and docs/python.md ("The relay_robot module").
"""
from __future__ import annotations

import asyncio
import atexit
import inspect
import itertools
import weakref
from typing import Any, Callable

from . import _native

__all__ = ["Client", "RelayError", "CommandError"]


class RelayError(Exception):
    """An error with a contract code ("TURN_UNAVAILABLE", "BAD_MESSAGE", ...)."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref


class CommandError(Exception):
    """Raised by an on_command handler: the command is answered ok false with this error."""

    def __init__(self, code: str, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data


# Clients not yet stopped: stopped at interpreter exit, before Python can no longer take the GIL
# for an I/O thread that is still delivering.
_live: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for client in list(_live):
        client._native.stop()


def _make_dispatch(ref: "weakref.ref[Client]") -> Callable[[str, Any, Any], None]:
    # The native client holds this function; a weak reference keeps it from holding the Client,
    # so a Client nobody refers to is collected (and its destructor stops the native client).
    def dispatch(kind: str, payload: Any, reply: Any) -> None:
        client = ref()
        if client is not None:
            client._dispatch(kind, payload, reply)

    return dispatch


def _make_call_soon(loop: asyncio.AbstractEventLoop) -> Callable[..., None]:
    # Runs on the SDK's I/O thread with the GIL: only hands the call to the loop. A loop that has
    # been closed (asyncio.run returned while the client still runs) takes nothing more.
    def call_soon(fn: Callable[..., None], *args: Any) -> None:
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            if not loop.is_closed():
                raise

    return call_soon


_turn_ids = itertools.count(1)


class Client:
    """A robot's connection to the relay; see __init__.pyi for the full API."""

    def __init__(
        self,
        url: str,
        device_id: str,
        *,
        secret: str | None = None,
        key_file: str | None = None,
        capabilities: dict | None = None,
        firmware: str | None = None,
        ca_file: str | None = None,
        outbox_capacity: int = 1000,
        acknowledged_events: bool = False,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        try:
            self._native = _native.Client(
                url, device_id, secret, key_file, capabilities, firmware, ca_file,
                int(outbox_capacity), bool(acknowledged_events),
                float(reconnect_initial), float(reconnect_max))
        except TypeError as e:  # e.g. capabilities that are not JSON: still a bad configuration
            raise ValueError(str(e)) from e
        self._loop = loop
        self._handlers: dict[str, Callable[..., Any] | None] = {}
        self._started = False
        self._stopped = False
        self._info: dict | None = None
        self._connected_event: asyncio.Event | None = None
        self._turn_waiters: dict[str, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started or self._stopped:
            raise RuntimeError("a client starts once (and not after stop())")
        running = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = running
        self._connected_event = asyncio.Event()
        self._native.set_sink(_make_call_soon(self._loop), _make_dispatch(weakref.ref(self)))
        self._started = True
        _live.add(self)
        self._native.start()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        _live.discard(self)
        # The native stop joins the I/O thread with the GIL released; in an executor thread so
        # the loop keeps running meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, self._native.stop)
        for fut in self._turn_waiters.values():
            if not fut.done():
                fut.set_exception(RelayError("DEVICE_OFFLINE", "the client was stopped"))
        self._turn_waiters.clear()

    async def __aenter__(self) -> "Client":
        await self.start()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.stop()

    async def wait_connected(self, timeout: float | None = None) -> dict:
        if self._connected_event is None:
            raise RuntimeError("start() the client first")
        if not self._connected_event.is_set():
            await asyncio.wait_for(self._connected_event.wait(), timeout)
        return dict(self._info or {})

    @property
    def connected(self) -> bool:
        return self._native.connected

    def stats(self) -> dict:
        return self._native.stats()

    # --- sending -----------------------------------------------------------------------------
    def send_event(self, name: str, data: Any = None) -> None:
        try:
            refused = self._native.send_event(name, data)
        except (TypeError, ValueError) as e:
            raise RelayError("BAD_MESSAGE", str(e)) from None
        if refused is not None:
            raise RelayError(refused[0], refused[1])

    async def flush(self, timeout: float = 10.0) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self._native.flush, timeout)

    def hello(self, capabilities: dict, firmware: str | None = None) -> None:
        self._native.hello(capabilities, firmware)

    async def request_turn_credentials(self, timeout: float = 15.0) -> dict:
        request_id = f"py-{next(_turn_ids)}"
        future = asyncio.get_running_loop().create_future()
        self._turn_waiters[request_id] = future
        try:
            if not self._native.request_turn_credentials(request_id):
                raise RelayError("DEVICE_OFFLINE", "not connected to the relay")
            return await asyncio.wait_for(future, timeout)
        finally:
            self._turn_waiters.pop(request_id, None)

    def send_webrtc_offer(self, session_id: str, sdp: str) -> bool:
        return self._native.send_webrtc_offer(session_id, sdp)

    def send_webrtc_ice(self, session_id: str, candidate: dict | None) -> bool:
        return self._native.send_webrtc_ice(session_id, candidate)

    def send_webrtc_close(self, session_id: str, reason: str | None = None) -> bool:
        return self._native.send_webrtc_close(session_id, reason)

    def send_webrtc_stats(self, session_id: str, state: str, connection_type: str | None = None,
                          rtt_ms: float | None = None) -> bool:
        return self._native.send_webrtc_stats(session_id, state, connection_type,
                                              None if rtt_ms is None else float(rtt_ms))

    # --- handlers ----------------------------------------------------------------------------
    def _set(self, kind: str, fn: Callable[..., Any] | None) -> Any:
        if fn is not None and not callable(fn):
            raise TypeError(f"the {kind} handler must be callable")
        self._handlers[kind] = fn
        return fn

    def on_connected(self, fn):
        return self._set("connected", fn)

    def on_disconnected(self, fn):
        return self._set("disconnected", fn)

    def on_error(self, fn):
        return self._set("error", fn)

    def on_command(self, fn):
        self._set("command", fn)
        self._native.route_commands(fn is not None)
        return fn

    def on_webrtc_request(self, fn):
        return self._set("webrtc_request", fn)

    def on_webrtc_answer(self, fn):
        return self._set("webrtc_answer", fn)

    def on_webrtc_ice(self, fn):
        return self._set("webrtc_ice", fn)

    def on_webrtc_close(self, fn):
        return self._set("webrtc_close", fn)

    def on_event_ack(self, fn):
        return self._set("event_ack", fn)

    def on_http_request(self, fn):
        self._set("http_request", fn)
        self._native.route_http(fn is not None)
        return fn

    def forward_rest(self, local_api: str) -> None:
        self._native.forward_rest(local_api)
        self._handlers["http_request"] = None

    # --- on the loop: what the native client handed over --------------------------------------
    def _dispatch(self, kind: str, payload: Any, reply: Any) -> None:
        if self._stopped:
            return
        if kind == "connected":
            self._info = payload
            assert self._connected_event is not None
            self._connected_event.set()
        elif kind == "disconnected":
            if self._connected_event is not None:
                self._connected_event.clear()
        elif kind == "turn_credentials":
            future = self._turn_waiters.get(payload.get("ref") or "")
            if future is not None and not future.done():
                future.set_result(payload["credentials"])
            return
        elif kind == "error":
            future = self._turn_waiters.get(payload.get("ref") or "")
            if future is not None:
                if not future.done():
                    future.set_exception(RelayError(payload["code"], payload.get("message", ""), payload.get("ref")))
                return
        elif kind == "command":
            self._spawn(self._answer_command(payload, reply))
            return
        elif kind == "http_request":
            self._spawn(self._answer_http(payload, reply))
            return
        fn = self._handlers.get(kind)
        if fn is None:
            return
        try:
            result = fn(payload)
            if inspect.isawaitable(result):
                self._spawn(self._guard(kind, result))
        except Exception as e:  # a handler's bug must not stop the next message
            self._report(kind, e)

    def _spawn(self, coro) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)  # a strong reference until done
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, kind: str, awaitable) -> None:
        try:
            await awaitable
        except Exception as e:
            self._report(kind, e)

    def _report(self, kind: str, e: BaseException) -> None:
        assert self._loop is not None
        self._loop.call_exception_handler({
            "message": f"relay_robot: the {kind} handler raised {type(e).__name__}",
            "exception": e,
        })

    async def _answer_command(self, cmd: dict, reply) -> None:
        fn = self._handlers.get("command")
        try:
            if fn is None:
                raise CommandError("UNKNOWN_COMMAND", f"no handler for command '{cmd.get('command')}'")
            result = fn(cmd)
            if inspect.isawaitable(result):
                result = await result
            try:
                reply.ok(result)
            except (TypeError, ValueError) as e:
                raise CommandError("INTERNAL", f"the command's result is not JSON: {e}") from None
        except CommandError as e:
            error = {"code": e.code, "message": e.message}
            if e.data is not None:
                error["data"] = e.data
            try:
                reply.fail(error)
            except (TypeError, ValueError) as bad:
                reply.fail({"code": e.code, "message": f"{e.message} (data is not JSON: {bad})"})
        except Exception as e:
            self._report("command", e)
            reply.fail({"code": "INTERNAL", "message": f"{type(e).__name__}: {e}"})

    async def _answer_http(self, req: dict, reply) -> None:
        fn = self._handlers.get("http_request")
        try:
            if fn is None:
                reply.respond(501, {"error": {"code": "NOT_IMPLEMENTED", "message": "no REST handler"}}, {})
                return
            result = fn(req)
            if inspect.isawaitable(result):
                result = await result
            status, headers, body = result
            headers = {str(k): str(v) for k, v in (headers or {}).items()}
            content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
            others = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            if isinstance(body, (bytes, bytearray, memoryview)):
                reply.respond_bytes(int(status), bytes(body), content_type or "application/octet-stream", others)
            elif isinstance(body, str):
                reply.respond_bytes(int(status), body.encode(), content_type or "text/plain; charset=utf-8", others)
            else:
                reply.respond(int(status), body, headers)
        except Exception as e:
            self._report("http_request", e)
            reply.respond(500, {"error": {"code": "INTERNAL", "message": f"{type(e).__name__}: {e}"}}, {})
