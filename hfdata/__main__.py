"""`python -m hfdata`: the command line, as the `hfdata` console script runs it."""

from hfdata.tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
