import sys

from langgraph.checkpoint.cli.app import main

sys.exit(main())
