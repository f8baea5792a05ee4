"""The exceptions baocao raises. Each names the thing it is about (file, host, key).

The readers in parsers/ never raise for bad input: they return `Problem`s. These
exceptions are for the edges — config, mailbox, database, archive, SMTP — and the
CLI turns any of them into one sentence and an exit code.
"""

from __future__ import annotations


class BaocaoError(Exception):
    """Base of every error the CLI reports as one sentence. `exit_code` 1 = runtime."""

    exit_code = 1


class ConfigError(BaocaoError):
    """The config file is missing, not TOML, or has invalid values.

    `problems` lists every problem found, each as "key.path: what is wrong".
    """

    exit_code = 2

    def __init__(self, path: object, problems: list[str]) -> None:
        self.path = path
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{path}: {n} problem{'s' if n != 1 else ''} in the configuration"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class UsageError(BaocaoError):
    """A command was called with arguments that do not fit (exit 2)."""

    exit_code = 2


class MailboxError(BaocaoError):
    """The IMAP server could not be reached, refused the login, or the folder is missing."""


class SmtpError(BaocaoError):
    """The SMTP server could not be reached or refused the message."""


class ArchiveError(BaocaoError):
    """The archive directory cannot be written (permissions, disk full)."""


class StorageError(BaocaoError):
    """The database cannot be opened, is locked, corrupt, or a migration failed."""
