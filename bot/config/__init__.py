"""The configuration file and the environment, loaded once and validated, every problem with its key path.

model: the frozen dataclasses; environment: what comes from the process environment; loader: the file and
its YAML; validator: the walk over every key. The public names are re-exported here.
"""

from bot.config.environment import DEFAULT_CONFIG_PATH, DEFAULT_SLACK_API_URL, Environment, config_path
from bot.config.loader import load_config, parse_config
from bot.config.model import (
    IMAGE_NAME_RE,
    ROLES,
    TARGET_NAME_RE,
    VARIABLE_KEY_RE,
    VARIABLE_VALUE_RE,
    AccessConfig,
    Config,
    FleetConfig,
    ImageConfig,
    LifecycleConfig,
    NotificationsConfig,
    StateConfig,
    TargetConfig,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_SLACK_API_URL",
    "IMAGE_NAME_RE",
    "ROLES",
    "TARGET_NAME_RE",
    "VARIABLE_KEY_RE",
    "VARIABLE_VALUE_RE",
    "AccessConfig",
    "Config",
    "Environment",
    "FleetConfig",
    "ImageConfig",
    "LifecycleConfig",
    "NotificationsConfig",
    "StateConfig",
    "TargetConfig",
    "config_path",
    "load_config",
    "parse_config",
]
