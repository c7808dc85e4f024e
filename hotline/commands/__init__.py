"""The ``hotline`` subcommands, one module each.

Every module here defines ``register(subparsers)``, which adds its subcommand with
``set_defaults(run=...)``; ``run(args) -> int`` is the exit status.
"""
