"""A TCP proxy that adds latency, so a local test cluster answers like a remote one.

Every chunk read from one side is written to the other ``delay`` seconds after it arrived, in
order (one queue per direction, each chunk with its release time): a round trip costs twice the
delay, and a stream of chunks is not slowed more than once. TLS passes through untouched (it is
TCP), so a kubeconfig whose server is the proxy's address works as long as the API server's
certificate is valid for that host (the test cluster's is, for 127.0.0.1, on any port).
It counts connections and bytes each way. Stdlib only; it must not know anything of HTTP.

From Python (the loop runs in a thread of its own)::

    with LatencyProxy(("127.0.0.1", 16443), delay=0.020) as proxy:
        ...  # connect to proxy.address
        proxy.counts()  # Counts(connections, up, down)

As a script::

    python benchmarks/latency_proxy.py --listen 127.0.0.1:16444 --upstream 127.0.0.1:16443 --delay-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from dataclasses import dataclass
from types import TracebackType

CHUNK = 65536


@dataclass(frozen=True)
class Counts:
    """What went through the proxy: connections accepted, bytes client→server and server→client."""

    connections: int = 0
    up: int = 0
    down: int = 0

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.connections - other.connections, self.up - other.up, self.down - other.down)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


class LatencyProxy:
    """Listens on ``listen`` (port 0: any free port), forwards to ``upstream`` with ``delay``
    seconds added to each direction."""

    def __init__(self, upstream: tuple[str, int], delay: float = 0.020,
                 listen: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.upstream, self.delay, self.listen = upstream, delay, listen
        self.address: tuple[str, int] = listen
        self._counts = [0, 0, 0]  # connections, up, down
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    def counts(self) -> Counts:
        with self._lock:
            return Counts(*self._counts)

    def _add(self, index: int, n: int) -> None:
        with self._lock:
            self._counts[index] += n

    # --- the asyncio side ---------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, *self.listen)
        self.address = self._server.sockets[0].getsockname()[:2]

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._add(0, 1)
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(self._pipe(client_r, server_w, 1), self._pipe(server_r, client_w, 2))
        except asyncio.CancelledError:
            pass  # the proxy stops
        finally:
            server_w.close()
            client_w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int) -> None:
        """Read chunks as they come; a second task writes each once its release time is reached,
        and half-closes ``writer`` (delayed too) when ``reader`` ends."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def release() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(release())
        try:
            while True:
                data = await reader.read(CHUNK)
                self._add(index, len(data))
                queue.put_nowait((loop.time() + self.delay, data))
                if not data:
                    break
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time(), b""))
        try:
            await sender
        except (ConnectionError, OSError):
            pass

    # --- as a context manager: the loop in a thread -----------------------------------------

    def __enter__(self) -> LatencyProxy:
        started = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="latency-proxy", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError(f"the latency proxy did not start on {self.listen}")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(5)
        loop.close()

    async def stop(self) -> None:
        """Stop listening and end every connection still open."""
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:16444", help="HOST:PORT to listen on")
    parser.add_argument("--upstream", default="127.0.0.1:16443", help="HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="latency added each way (ms)")
    args = parser.parse_args(argv)
    with LatencyProxy(_address(args.upstream), args.delay_ms / 1000, _address(args.listen)) as proxy:
        print(f"forwarding {proxy.address[0]}:{proxy.address[1]} -> {args.upstream}, "
              f"+{args.delay_ms:g} ms each way (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            counts = proxy.counts()
            print(f"{counts.connections} connections, {counts.up} bytes up, {counts.down} bytes down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
