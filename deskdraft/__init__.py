"""deskdraft's infrastructure: configuration, state, the broker transport, logging, metrics and the admin commands.

The architecture stays at the repository root (webhooks.py, worker.py, pipeline.py and the connectors/,
drafting/, knowledge/ packages); this package holds what they run on, under a name that cannot collide with
another distribution's top-level `settings`, `state` or `cli` module.
"""
