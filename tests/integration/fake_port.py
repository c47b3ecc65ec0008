"""A fake serial port for detection tests: chunks (or exceptions) per serial setting tried."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.han_port import connection
from custom_components.han_port.han.profiles import SerialSettings


class FakeReader:
    """Serves chunks; an exception in the list is raised instead."""

    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = list(chunks)

    async def read(self, _size: int) -> bytes:
        if not self.chunks:
            await asyncio.sleep(10)
        chunk = self.chunks.pop(0)
        if isinstance(chunk, Exception):
            raise chunk
        return chunk


class FakeWriter:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        pass


def fake_port(monkeypatch: pytest.MonkeyPatch, per_setting: list[list[Any]]) -> list[FakeWriter]:
    writers: list[FakeWriter] = []

    async def _open(_port: str, _settings: SerialSettings) -> tuple[FakeReader, FakeWriter]:
        writer = FakeWriter()
        writers.append(writer)
        return FakeReader(per_setting[len(writers) - 1]), writer

    monkeypatch.setattr(connection, "open_port", _open)
    return writers
