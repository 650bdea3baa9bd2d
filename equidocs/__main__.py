import sys

from equidocs.cli import main

sys.exit(main())
