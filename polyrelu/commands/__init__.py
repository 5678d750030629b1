"""CLI commands: one module per command, each with ``add_parser`` and ``run``."""

COMMANDS = ("demo", "info", "regions", "plot", "equiv", "folds", "tropical", "tropex",
            "trajectory", "export", "check", "verify", "robustness")
