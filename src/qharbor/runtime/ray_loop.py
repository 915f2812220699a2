"""A run's loop as a task on the Ray cluster, relayed to the centre by a loop process.

With ``executor = "ray"`` the centre's loop processes run no program themselves:
each connects to the cluster as a Ray driver and runs every attempt it is given
as a Ray task of one CPU, which talks to it through two Ray queues
(:class:`~qharbor.runtime.channel.RayChannel`); the process relays messages
between those queues and the centre's channel. The task is not detached: it and
its queues die with their driver, so a centre that dies (its loop processes die
with it) leaves no loop running on the cluster.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from qharbor import errors
from qharbor.engines import threads
from qharbor.executors.ray_driver import connect, task_environment
from qharbor.runtime import messages
from qharbor.runtime.channel import ChannelClosed, PipeChannel, RayChannel

log = logging.getLogger(__name__)

#: Seconds between looks at whether a task that sent nothing has ended.
_LOOK_S = 0.5


def _task(spec: messages.LoopSpec, inbox: Any, outbox: Any, env: dict[str, str]) -> None:
    """The Ray task: run one attempt, talking to its relay through the two queues."""
    for name, value in env.items():
        if name == threads.BUDGET_ENV:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)
    from qharbor.runtime.loop import serve

    serve(RayChannel(inbox, outbox), spec)


def relay_attempts(channel: PipeChannel, address: str) -> None:
    """Connect to the cluster at ``address``, then run each attempt sent as a Ray task.

    Raises:
        ChannelClosed: the centre is gone.
    """
    import ray

    from qharbor.runtime.loop import READY

    try:
        connect(address)
    except Exception as exc:
        channel.send(("unavailable", f"cannot reach the Ray cluster at {address}: {exc}"))
        return
    task = ray.remote(num_cpus=1, max_retries=0)(_task)
    channel.send(READY)
    while True:
        spec = channel.receive(None)
        if isinstance(spec, messages.LoopSpec):
            _relay(channel, spec, task)


def _relay(channel: PipeChannel, spec: messages.LoopSpec, task: Any) -> None:
    """Run one attempt as a task and relay its messages until it ends."""
    import ray
    from ray.util.queue import Empty, Queue

    inbox, outbox = Queue(), Queue()  # to the task, from it
    env = {**task_environment(), threads.BUDGET_ENV: "1"}
    name = f"qharbor:program:{spec.run_id}"  # its workers' title: ray::qharbor:program:...
    ref = task.options(name=name).remote(spec, inbox, outbox, env)
    done = threading.Event()

    def forward() -> None:
        try:
            while not done.is_set():
                message = channel.receive(0.2)
                if message is not None:
                    inbox.put(message)
        except ChannelClosed:  # the centre is gone: so is this driver, and its task
            os._exit(0)

    forwarder = threading.Thread(target=forward, name="qharbor-loop-relay", daemon=True)
    forwarder.start()
    try:
        while True:
            try:
                message = outbox.get(timeout=_LOOK_S)
            except Empty:
                ended, _ = ray.wait([ref], timeout=0)
                if ended and outbox.empty():
                    message = messages.Ended(error=_crashed(ray, ref).to_json())
                else:
                    continue
            if isinstance(message, messages.Ended):
                # The next attempt's spec must not be forwarded to this task's queue.
                done.set()
                forwarder.join()
                channel.send(message)
                return
            channel.send(message)
    finally:
        done.set()
        for queue in (inbox, outbox):
            queue.shutdown(force=True)


def _crashed(ray: Any, ref: Any) -> errors.ProgramLoopLost:
    """The error of a task that ended without saying how its attempt ended."""
    try:
        ray.get(ref)
        why = "it returned without an answer"
    except Exception as exc:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return errors.ProgramLoopLost(f"the program's Ray task ended before its run did ({why})")
