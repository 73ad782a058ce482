"""Errors that reach the user as one clear message (never a traceback)."""

from __future__ import annotations


class ChemChallengeError(Exception):
    """Base class: the CLI prints ``str(err)`` and exits with status 2."""


class ConfigError(ChemChallengeError):
    """params.yaml is wrong: unknown key, wrong type, impossible combination."""


class InputError(ChemChallengeError):
    """An input file is wrong. The message names the file, the row/ID and the problem."""

    def __init__(self, file: str, problem: str, rows: list[str] | None = None) -> None:
        self.file = file
        self.problem = problem
        self.rows = list(rows or [])
        where = ""
        if self.rows:
            shown = ", ".join(self.rows[:10])
            more = f" (+{len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
            where = f" [rows/IDs: {shown}{more}]"
        super().__init__(f"{file}: {problem}{where}")


class MissingInputError(ChemChallengeError):
    """A stage's input does not exist yet (the stage that makes it has not run)."""
