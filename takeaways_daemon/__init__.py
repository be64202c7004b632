"""takeaways: a private coding assistant that lives on the developer's own machine."""

__version__ = "0.1.0"
