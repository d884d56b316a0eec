"""The streaming side of entbrain: the Faust worker, its topics, tables, agents, web views
and the ``entbrain`` CLI. The only package that knows Faust; importing it does not import
Faust (the app lives in :mod:`streams.app`).
"""

__all__: list[str] = []
