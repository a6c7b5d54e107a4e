"""``python -m stainless`` runs the command line."""

from stainless.cli.main import run

run()
