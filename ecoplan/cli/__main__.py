"""`python -m ecoplan.cli …`: the same as the `ecoplan` console script."""

from ecoplan.cli.app import main

main()
