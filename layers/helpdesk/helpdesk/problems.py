"""One thing wrong in a file the desk reads: its config, a knowledge article, a language's
templates. ``helpdesk validate`` and the build list them all, each as ``file:line: key:
why``, so that whoever wrote the file can go straight to the line.

Its own small module: the knowledge base reads its articles at run time, and must not
import the config's models for this.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FileProblem"]


@dataclass(frozen=True)
class FileProblem:
    """Where (``source`` file, ``line`` when known, ``path``: the key within the file, ""
    when the file as a whole is at fault) and why (``message``)."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
