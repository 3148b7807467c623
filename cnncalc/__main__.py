"""`python -m cnncalc` runs the CLI."""

from cnncalc.cli import main

main()
