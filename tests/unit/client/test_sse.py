"""Parsing server-sent events."""

from __future__ import annotations

from qharbor.client.sse import ServerSentEvent, parse_events


def test_events_are_split_on_blank_lines_and_json_data_is_decoded() -> None:
    lines = [
        "event: status",
        'data: {"status": "QUEUED"}',
        "",
        "event: status",
        'data: {"status": "DONE"}',
        "",
    ]

    assert list(parse_events(lines)) == [
        ServerSentEvent("status", {"status": "QUEUED"}),
        ServerSentEvent("status", {"status": "DONE"}),
    ]


def test_comments_are_skipped_and_multi_line_data_is_joined() -> None:
    lines = [": keep-alive", "", "id: 4", "data: first", "data: second", ""]

    assert list(parse_events(lines)) == [ServerSentEvent("message", "first\nsecond", "4")]


def test_an_event_cut_off_before_its_blank_line_is_dropped() -> None:
    lines = [
        "event: status\r\n",
        'data: {"status": "RUNNING"}\r\n',
        "\r\n",
        "event: status",
        'data: {"sta',
    ]

    assert [e.data for e in parse_events(lines)] == [{"status": "RUNNING"}]
