"""`python -m takeaways_daemon …` is the same as `takeaways …`."""

from takeaways_daemon.cli.main import main

main()
