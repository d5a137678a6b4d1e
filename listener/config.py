"""Configuration from the environment (and a `.env` file), with names operators guess."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_flow_file() -> Path:
    """`transitions.yaml` in the working directory, else the one beside the package."""
    here = Path("transitions.yaml")
    return here if here.exists() else PROJECT_ROOT / "transitions.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    store_url: str = Field(default="sqlite:///listener.db", validation_alias="STORE_URL")
    flow_file: Path = Field(default_factory=default_flow_file, validation_alias="FLOW_FILE")
    event_cache_seconds: float = Field(default=30.0, ge=0, validation_alias="EVENT_CACHE_SECONDS")
    environment: str = Field(default="development", validation_alias="ENVIRONMENT")
