import sys

from finance_bot.entry import main

sys.exit(main(sys.argv[1:] or ["run"]))
