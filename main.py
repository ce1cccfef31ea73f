"""ear3d's command line (the same as the `ear3d` console script)."""

from ear3d.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
