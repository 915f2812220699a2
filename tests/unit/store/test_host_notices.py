"""Job-change notices between the processes of one host (SQLite's stand-in for NOTIFY)."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from qharbor.store.host_notices import HostNotices

#: A bound on waiting for a datagram that should arrive at once.
DEADLINE_S = 10.0


class Listener:
    """A process's notices, with every job id it was told of."""

    def __init__(self, folder: Path, name: str) -> None:
        self.heard: queue.Queue[str] = queue.Queue()
        self.notices = HostNotices(folder, on_notice=self.heard.put)
        # Each process names its socket by its pid; these share one process.
        self.notices._path = folder / f"{name}.sock"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Listener, Listener]]:
    one, two = Listener(tmp_path / "n", "one"), Listener(tmp_path / "n", "two")
    one.notices.start()
    two.notices.start()
    yield one, two
    one.notices.close()
    two.notices.close()


def test_a_change_reaches_every_other_process_and_not_its_sender(
    pair: tuple[Listener, Listener],
) -> None:
    one, two = pair
    one.notices.notify("job-1")
    assert two.heard.get(timeout=DEADLINE_S) == "job-1"
    two.notices.notify("job-2")
    assert one.heard.get(timeout=DEADLINE_S) == "job-2"
    assert one.heard.empty() and two.heard.empty()


def test_the_socket_of_a_process_that_ended_is_removed(
    pair: tuple[Listener, Listener], tmp_path: Path
) -> None:
    one, two = pair
    gone = tmp_path / "n" / "gone.sock"
    # A process that died left its socket's path behind with nothing bound to it.
    # (Closing a listener's socket here would not do: its thread's pending receive
    # keeps the socket bound until that receive times out.)
    ended = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ended.bind(str(gone))
    ended.close()
    assert gone.exists()
    one.notices.notify("job-3")
    assert two.heard.get(timeout=DEADLINE_S) == "job-3"
    assert not gone.exists()


def test_closing_removes_the_socket(tmp_path: Path) -> None:
    alone = Listener(tmp_path / "n", "alone")
    alone.notices.start()
    assert (tmp_path / "n" / "alone.sock").exists()
    alone.notices.close()
    assert not (tmp_path / "n" / "alone.sock").exists()
