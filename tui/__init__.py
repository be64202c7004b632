"""takeaways-tui: the Textual UI beside the editor; it talks to the daemon API only."""
