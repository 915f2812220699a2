"""A run's classical loop, in a process of its own: on this host, or as a Ray task.

The centre starts loop processes (:mod:`qharbor.runtime.processes`) as fresh
interpreters running this module, each with one end of a socket pair. A process
warms up (the programs and the engines imported), says it is ready, then runs
one attempt after another: it receives a :class:`~qharbor.runtime.messages.LoopSpec`,
runs the program with a :class:`~qharbor.runtime.context.RunContext` that talks
to the centre over the channel, and sends how it ended. With a Ray address it
runs nothing itself: it connects to the cluster and runs each attempt as a Ray
task (:mod:`qharbor.runtime.ray_loop`), relaying the messages both ways.

A loop process dies with its centre: ``PR_SET_PDEATHSIG`` and a watch on its
parent (as the local executor's workers), and any send or receive on a channel
whose centre end is gone ends it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

from qharbor import errors
from qharbor.executors.local import die_with_parent
from qharbor.runtime import messages, registry
from qharbor.runtime.channel import Channel, ChannelClosed, PipeChannel
from qharbor.runtime.context import RunCancelled, RunContext
from qharbor.runtime.program import Program

log = logging.getLogger(__name__)

#: What a loop process sends once it can take an attempt.
READY = "ready"

#: The programs this process has run: ``module:attribute`` -> the program.
_programs: dict[str, Program] = {}


def serve(channel: Channel, spec: messages.LoopSpec) -> None:
    """Run one attempt of a run to its end, and tell the centre how it ended.

    Raises:
        ChannelClosed: the centre is gone.
    """
    context = RunContext(spec, channel)
    try:
        program = _programs.get(spec.entry) or _programs.setdefault(
            spec.entry, registry.load(spec.entry)
        )
        inputs = program.inputs.model_validate(spec.inputs)
        ended = messages.Ended(output=plain(program.run(inputs, context)))
    except RunCancelled:
        ended = messages.Ended(stopped=True)
    except ChannelClosed:
        raise
    except errors.QHarborError as exc:
        ended = messages.Ended(error=exc.to_json())
    except Exception as exc:  # a program's bug fails its run, not the loop process
        log.exception("program run %s failed", spec.run_id)
        ended = messages.Ended(
            error=errors.ProgramRunError(f"{type(exc).__name__}: {exc}").to_json()
        )
    context.send_last_progress()
    channel.send(messages.Ended(**{**ended.__dict__, "timing": context.timing()}))


def plain(value: Any) -> dict[str, Any]:
    """The program's output as plain JSON (NumPy numbers become Python ones)."""

    def convert(item: Any) -> Any:
        if hasattr(item, "tolist"):
            return item.tolist()
        if hasattr(item, "item"):
            return item.item()
        raise TypeError(f"the program returned {type(item).__name__}, which is not JSON")

    found: dict[str, Any] = json.loads(json.dumps(value, default=convert))
    return found


def warm_up() -> None:
    """Import the programs and the engines, so an attempt's first call does not wait."""
    registry.Registry.discover()
    from qharbor.engines import get_engine

    get_engine("aer")
    if os.environ.get("QHARBOR_WARM_ENGINES", "1") == "1":
        from qharbor.engines import loading

        loading.warm_up()


def main(fd: int, parent_pid: int, ray_address: str | None) -> None:
    """A loop process: warm up, then run (or relay to Ray) attempts until the centre goes."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent_pid:  # the centre died before the signal was armed
        return
    channel = PipeChannel(Connection(fd))
    try:
        if ray_address is not None:
            from qharbor.runtime import ray_loop

            ray_loop.relay_attempts(channel, ray_address)
            return
        warm_up()
        channel.send(READY)
        while True:
            spec = channel.receive(None)
            if isinstance(spec, messages.LoopSpec):
                serve(channel, spec)
    except ChannelClosed:  # the centre is gone: so is its run
        return


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
