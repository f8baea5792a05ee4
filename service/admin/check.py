"""`baocao check --connect`: log in to the IMAP and SMTP servers and look at the folders,
naming the folder probably meant when a configured one is missing."""

from __future__ import annotations

from service.config import Config
from service.errors import ConfigError, UsageError
from service.mail.mailbox import FolderLayout, Mailbox
from service.mail.smtp import smtp_session
from service.outputs.i18n import Texts


def check_connections(cfg: Config) -> None:
    """Log in to both servers; print what was found; raise on what is wrong."""
    if cfg.imap is None:
        raise UsageError("the configuration has no [imap] section to connect to")
    with Mailbox(cfg.imap) as mb:
        layout = mb.folder_layout()
        if layout.has(cfg.imap.folder):
            mb.select(cfg.imap.folder)  # and it opens
    print(f"IMAP: logged in to {cfg.imap.host}:{cfg.imap.port} as {cfg.imap.username}.")
    check_folders(cfg, layout)
    if cfg.smtp is None:
        raise UsageError("the configuration has no [smtp] section to connect to")
    with smtp_session(cfg.smtp):
        pass
    print(f"SMTP: logged in to {cfg.smtp.host}:{cfg.smtp.port}.")


MAX_FOLDERS_LISTED = 40


def check_folders(cfg: Config, layout: FolderLayout) -> None:
    """Print the server's folders and namespace; raise ConfigError when imap.folder is missing
    or imap.processed_folder can neither be found nor created, with the name probably meant."""
    texts = Texts(cfg.service.language)
    imap = cfg.imap
    assert imap is not None  # check_connections refused a config without [imap]
    shown = ", ".join(layout.folders[:MAX_FOLDERS_LISTED])
    if len(layout.folders) > MAX_FOLDERS_LISTED:
        shown += " " + texts.sentence("check", "more_folders", {"count": len(layout.folders) - MAX_FOLDERS_LISTED})
    for prefix, delimiter in layout.personal:
        print(
            texts.sentence(
                "check", "namespace", {"host": imap.host, "prefix": prefix, "delimiter": delimiter, "folders": shown}
            )
        )
    problems = []

    def problem(config_key: str, folder: str, sentence: str, **params: object) -> None:
        text = texts.sentence("check", sentence, {"folder": folder, "host": imap.host, **params})
        meant = layout.suggest(folder)
        if meant:
            text += "; " + texts.sentence("check", "did_you_mean", {"name": meant})
        problems.append(f"imap.{config_key}: {text}")

    if layout.has(imap.folder):
        print(texts.sentence("check", "folder_ok", {"folder": imap.folder}))
    else:
        problem("folder", imap.folder, "folder_missing")
    processed = imap.processed_folder
    if processed and processed != imap.folder:
        if layout.has(processed):
            print(texts.sentence("check", "processed_ok", {"folder": processed}))
        elif layout.can_create(processed):
            print(texts.sentence("check", "processed_later", {"folder": processed}))
        else:
            problem("processed_folder", processed, "cannot_create", prefix=layout.personal[0][0])
    if problems:
        raise ConfigError(cfg.source, problems)
