import sys

from dnnlab.cli import main

if __name__ == "__main__":  # not when a spawned process re-imports the main module
    sys.exit(main())
