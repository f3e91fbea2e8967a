"""``python -m cli`` runs the ``rdbkit`` command."""

from cli.main import main

main()
