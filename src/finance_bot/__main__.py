import sys

from finance_bot.cli import main

sys.exit(main(sys.argv[1:] or ["run"]))
