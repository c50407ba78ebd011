"""``python -m disccore`` == the ``disccore`` command."""

from disccore.cli.main import main

raise SystemExit(main())
