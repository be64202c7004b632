"""The `data`, `model` and `eval` command groups, joined to `takeaways` as CLI plugins.

They live beside the code they drive and reach the CLI through the `takeaways.commands`
entry point (pyproject.toml), the same way a third party's commands would. Each module imports
only click at the top: heavy imports happen inside the commands, so `takeaways --help` stays
instant.
"""
