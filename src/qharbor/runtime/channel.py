"""The channel between a run's loop and the centre: ``send`` one message, ``receive`` one.

On this host the two ends are a connection of a socket pair
(:class:`PipeChannel`); a loop on a Ray cluster talks through a pair of Ray
queues (:class:`RayChannel`), relayed to the centre by a process of its own.
Messages are the values of :mod:`qharbor.runtime.messages`.
"""

from __future__ import annotations

import contextlib
from multiprocessing.connection import Connection
from typing import Any, Protocol


class ChannelClosed(Exception):
    """The other end of the channel is gone."""


class Channel(Protocol):
    """One end of a two-way, ordered channel."""

    def send(self, message: Any) -> None:
        """Send one message.

        Raises:
            ChannelClosed: the other end is gone.
        """
        ...

    def receive(self, timeout: float | None) -> Any | None:
        """The next message, or None if none came within ``timeout`` seconds.

        Raises:
            ChannelClosed: the other end is gone.
        """
        ...


class PipeChannel:
    """A channel over a :class:`multiprocessing.connection.Connection`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def send(self, message: Any) -> None:
        try:
            self.conn.send(message)
        except (OSError, ValueError) as exc:  # ValueError: closed here
            raise ChannelClosed(str(exc)) from exc

    def receive(self, timeout: float | None) -> Any | None:
        try:
            if not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (EOFError, OSError, ValueError) as exc:
            raise ChannelClosed(str(exc)) from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()


class RayChannel:
    """A channel over two ``ray.util.queue.Queue`` actors: one per direction."""

    def __init__(self, inbox: Any, outbox: Any) -> None:
        self._inbox = inbox
        self._outbox = outbox

    def send(self, message: Any) -> None:
        try:
            self._outbox.put(message)
        except Exception as exc:  # the queue's actor died with its driver
            raise ChannelClosed(str(exc)) from exc

    def receive(self, timeout: float | None) -> Any | None:
        from ray.util.queue import Empty

        try:
            if timeout == 0:
                return self._inbox.get_nowait()
            return self._inbox.get(timeout=timeout)
        except Empty:
            return None
        except Exception as exc:
            raise ChannelClosed(str(exc)) from exc
