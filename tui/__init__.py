"""takeaways-tui: the Textual terminal UI that sits beside the editor (talks to the daemon API only)."""
