"""The ``disccore`` command line: one module per subcommand, registered in :mod:`disccore.cli.main`."""
