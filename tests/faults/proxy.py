"""A TCP forwarder that a test can stop and start: the database or Redis "goes away" (every
open connection through it is cut, new ones are refused) and "comes back" on the same port,
without touching the real server behind it."""
import asyncio
import socket
import threading


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proxy:
    """``127.0.0.1:port`` forwarded to ``target_host:target_port`` while started."""

    def __init__(self, target_port, target_host="127.0.0.1", port=None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="fault-proxy")
        self.thread.start()
        self.server = None
        self.writers = set()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self.writers |= {client_writer, server_writer}
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        self.writers -= {client_writer, server_writer}

    async def _start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _stop(self):
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()  # cut: the peers see a reset, as when a server dies
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    def start(self):
        self._call(self._start())
        return self

    def stop(self):
        if self.server is not None:
            self._call(self._stop())

    def close(self):
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
