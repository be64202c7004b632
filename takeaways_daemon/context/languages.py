"""A file's language, from its name: the fence tag in prompts and the switch for Python analysis."""

from __future__ import annotations

from pathlib import PurePosixPath

PYTHON = "python"
DEFAULT_LANGUAGE = "text"

_BY_SUFFIX = {
    ".py": PYTHON,
    ".pyi": PYTHON,
    ".pyw": PYTHON,
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "jsx",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".swift": "swift",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "zsh",
    ".sql": "sql",
    ".html": "html",
    ".css": "css",
    ".scss": "scss",
    ".md": "markdown",
    ".rst": "rst",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".ini": "ini",
    ".cfg": "ini",
}
_BY_NAME = {"makefile": "makefile", "dockerfile": "dockerfile", "cmakelists.txt": "cmake"}


def language_for_path(path: str) -> str:
    """The language of the file at `path`, such as `python`, or `text` when unknown.

    >>> language_for_path("src/app.py"), language_for_path("Makefile"), language_for_path("a.xyz")
    ('python', 'makefile', 'text')
    """
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    return _BY_SUFFIX.get(PurePosixPath(name).suffix, DEFAULT_LANGUAGE)


def is_stub_file(path: str) -> bool:
    """Whether `path` is a Python type stub, where empty bodies are the point."""
    return path.lower().endswith(".pyi")
