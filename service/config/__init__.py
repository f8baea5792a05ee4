"""The configuration: one TOML file loaded once into typed, frozen objects.

- `models.py`: the file's keys, one pydantic model per table; each field documents its key.
- `values.py`: the converters behind them (a TOML value in, a typed value or a problem out).
- `loading.py`: `load_config` reads the file, validates it and raises `ConfigError`
  listing every problem at once, each naming its key path and line; then builds `Config`.
- `objects.py`: `Config` and its parts, the frozen dataclasses the service works on;
  `Secret` never prints.
- `targets.py`: the `[campaign] targets_file` CSV and the progress against it.
"""

from service.config.loading import CONFIG_ENV, DEFAULT_CONFIG_FILE, load_config, resolve_config_path
from service.config.objects import (
    AcknowledgementsConfig,
    CampaignConfig,
    Config,
    DigestConfig,
    ImapConfig,
    RemindersConfig,
    ScheduleConfig,
    Secret,
    Security,
    SecurityConfig,
    ServiceConfig,
    SmtpConfig,
    UnitConfig,
    UpwardConfig,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_FILE",
    "AcknowledgementsConfig",
    "CampaignConfig",
    "Config",
    "DigestConfig",
    "ImapConfig",
    "RemindersConfig",
    "ScheduleConfig",
    "Secret",
    "Security",
    "SecurityConfig",
    "ServiceConfig",
    "SmtpConfig",
    "UnitConfig",
    "UpwardConfig",
    "load_config",
    "resolve_config_path",
]
