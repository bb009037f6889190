"""``python -m supplytrack``: the same as the ``supplytrack`` command."""

from supplytrack.cli import main

main()
