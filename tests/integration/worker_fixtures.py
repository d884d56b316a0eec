"""Integration-test helpers: the worker harness of :mod:`streams.harness`."""

from streams.harness import WorkerProcess, free_port, isolated_env, produce, read_topic, settings_from

__all__ = ["WorkerProcess", "free_port", "isolated_env", "produce", "read_topic", "settings_from"]
