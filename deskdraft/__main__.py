"""`python -m deskdraft <command>`: the `deskdraft` console script without the installed entry point."""
from deskdraft.commands.main import main

main()
