"""`python -m disparo`: the same command as `disparo` (the worker pool starts its children so)."""

from disparo.cli import main

main()
