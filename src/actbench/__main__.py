import sys

from actbench.cli import main

sys.exit(main())
