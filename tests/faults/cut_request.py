"""The two ends of the cut-mid-request test, each run inside its own network namespace.

python -m tests.faults.cut_request server ADDR PORT
    prints "ready", then "arrived PATH" as each request's headers arrive
python -m tests.faults.cut_request client URL UNACKED_TIMEOUT
    opens a connection (prints "warm"), waits for SIGUSR1, sends 256 KiB through
    disparo's outbound client and prints "sent STATUS" or "failed ERROR"
"""

from __future__ import annotations

import asyncio
import signal
import sys

import httpx

from disparo.config import Settings
from disparo.net import outbound_client


async def serve(addr: str, port: int) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            head = line.split()
            if len(head) == 3 and head[2].startswith(b"HTTP/"):
                print("arrived", head[1].decode(), flush=True)
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()

    server = await asyncio.start_server(answer, addr, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


async def send(url: str, unacked_timeout: float) -> None:
    settings = Settings(env="development", outbound_unacked_timeout=unacked_timeout)
    go = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, go.set)
    async with outbound_client(settings) as client:
        await client.get(f"{url}/warm", timeout=10)
        print("warm", flush=True)
        await go.wait()
        try:
            answer = await client.post(f"{url}/send", content=b"x" * 262_144, timeout=60)
            print("sent", answer.status_code, flush=True)
        except httpx.HTTPError as exc:
            print("failed", type(exc).__name__, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(serve(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(send(sys.argv[2], float(sys.argv[3])))
