"""Hybrid programs that run on the centre, next to its devices.

A program is a named, versioned, curated algorithm (:mod:`.program`) whose
classical loop runs in a loop process of its own (:mod:`.loop`; on a Ray cluster,
a task, :mod:`.ray_loop`), served by the centre's program runtime (:mod:`.runtime`,
:mod:`.host`) over a channel (:mod:`.channel`, :mod:`.messages`), and whose
quantum jobs are ordinary jobs of a session: run in the loop on a simulator
(:mod:`.fastlane`), or admitted through :mod:`qharbor.jobs.submission` and queued.
Only programs the centre ships or its operator installs run (:mod:`.registry`);
users send inputs, never code. Runs, their progress and their checkpoints are
stored by :mod:`.runs`.
"""
