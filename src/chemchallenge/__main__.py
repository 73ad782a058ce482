import sys

from chemchallenge.cli import main

sys.exit(main())
