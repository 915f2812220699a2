"""Hybrid programs that run on the centre, next to its devices.

A program is a named, versioned, curated algorithm (:mod:`.program`) whose
classical loop runs in the centre's program runtime (:mod:`.runtime`) and whose
quantum jobs are ordinary jobs, admitted through :mod:`qharbor.jobs.submission`
in a session. Only programs the centre ships or its operator installs run
(:mod:`.registry`); users send inputs, never code. Runs, their progress and
their checkpoints are stored by :mod:`.runs`.
"""
