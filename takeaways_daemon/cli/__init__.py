"""The `takeaways` command line. Heavy modules are imported inside commands: `--help` is instant."""
