"""Where the shipped configs live (a light module: the CLI imports it at start-up)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "sample.toml"
