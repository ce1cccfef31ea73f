"""`python -m ear3d` is the same as the `ear3d` console script."""

from ear3d.cli import main

raise SystemExit(main())
