"""Executors: hand claimed jobs to workers and report how they end.

``base`` is the interface the scheduler knows, ``local`` the default process pool
on this host, and ``memory`` the per-host reservation of memory an executor keeps
for the jobs it runs.
"""
