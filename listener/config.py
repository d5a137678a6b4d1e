"""Configuration from the environment (and a `.env` file), with names operators guess.

Every setting is read here and nowhere else; model names, URLs and limits are settings,
never literals in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Environment = Literal["development", "test", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("development", "test", "production")
# `prod` was honoured as production before the names were checked; it can only make the
# app stricter, so a deployment that set it keeps starting. Nothing else is guessed at.
ENVIRONMENT_ALIASES: dict[str, Environment] = {"prod": "production"}

DEFAULT_STORE_TIMEOUT_SECONDS = 5.0
"""`STORE_TIMEOUT_SECONDS`, also what a store opened without settings uses."""


def default_flow_file() -> Path:
    """`transitions.yaml` in the working directory, else the one beside the package."""
    here = Path("transitions.yaml")
    return here if here.exists() else PROJECT_ROOT / "transitions.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # the engine
    store_url: str = Field(default="sqlite:///listener.db", validation_alias="STORE_URL")
    flow_file: Path = Field(default_factory=default_flow_file, validation_alias="FLOW_FILE")
    event_cache_seconds: float = Field(default=30.0, ge=0, validation_alias="EVENT_CACHE_SECONDS")
    # production refuses to start with settings that would run an unsafe webhook; any
    # other value than these (a typo such as `prd`) refuses to start at all
    environment: Environment = Field(default="development", validation_alias="ENVIRONMENT")
    # the deadline of one store call: SQLite waits this long for the write lock, and each
    # Firestore call (its retries included) this long for an answer; then StoreUnavailable
    store_timeout_seconds: float = Field(
        default=DEFAULT_STORE_TIMEOUT_SECONDS, gt=0, validation_alias="STORE_TIMEOUT_SECONDS"
    )
    # `/message` answers 503 when recording a delivery takes longer than this, and at once
    # when the store is stuck (calls under way, none finished for a second); Twilio retries
    inbox_timeout_seconds: float = Field(default=5.0, gt=0, validation_alias="INBOX_TIMEOUT_SECONDS")
    # threads of the webhook's own for its store calls other than recordings (blocklist
    # reads, health probes); each recording commit under way has a thread of its own too
    inbox_threads: int = Field(default=8, ge=1, validation_alias="INBOX_THREADS")
    # recording commits under way at once, each recording every delivery that waits (up to
    # INBOX_BATCH_SIZE); unset: 1 on SQLite (its writes are one at a time), 2 on Firestore
    inbox_commits: int | None = Field(default=None, ge=1, validation_alias="INBOX_COMMITS")
    # a Firestore commit takes at most 500 writes, and a delivery is two
    inbox_batch_size: int = Field(default=100, ge=1, le=200, validation_alias="INBOX_BATCH_SIZE")

    # Twilio
    twilio_account_sid: str | None = Field(default=None, validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(default=None, validation_alias="TWILIO_AUTH_TOKEN")
    twilio_number: str | None = Field(default=None, validation_alias="TWILIO_NUMBER")
    twilio_api_url: str = Field(default="https://api.twilio.com", validation_alias="TWILIO_API_URL")
    public_url: str | None = Field(default=None, validation_alias="PUBLIC_URL")
    # Signatures are checked whenever TWILIO_AUTH_TOKEN is set; false turns that off
    # explicitly (refused when ENVIRONMENT is production).
    twilio_validate_signature: bool = Field(default=True, validation_alias="TWILIO_VALIDATE_SIGNATURE")
    # The connection overrides the webhook URL was configured with in Twilio, the part
    # after `#` (`rc=3&rp=ct,rt,5xx`): Twilio signs the URL with them.
    twilio_connection_overrides: str = Field(default="", validation_alias="TWILIO_CONNECTION_OVERRIDES")
    # Hosts media is fetched from with Twilio credentials (comma-separated, `*.` wildcards).
    twilio_media_hosts: str = Field(default="api.twilio.com", validation_alias="TWILIO_MEDIA_HOSTS")
    media_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0, validation_alias="MEDIA_MAX_BYTES")
    media_timeout_seconds: float = Field(default=30.0, gt=0, validation_alias="MEDIA_TIMEOUT_SECONDS")
    transcribe_timeout_seconds: float = Field(default=120.0, gt=0, validation_alias="TRANSCRIBE_TIMEOUT_SECONDS")
    # the deadline of every request to Twilio's API (a send, a look in its message log)
    send_timeout_seconds: float = Field(default=10.0, gt=0, validation_alias="SEND_TIMEOUT_SECONDS")
    send_max_attempts: int = Field(default=6, ge=1, validation_alias="SEND_MAX_ATTEMPTS")
    send_retry_base_seconds: float = Field(default=1.0, ge=0, validation_alias="SEND_RETRY_BASE_SECONDS")
    send_retry_max_seconds: float = Field(default=60.0, ge=0, validation_alias="SEND_RETRY_MAX_SECONDS")
    # how long a sender's claim on a reply lasts; renewed before a request when less than
    # halfway between the deadline and the claim is left, so it must outlast the deadline.
    # A crashed sender's replies are taken over after it plus one recovery interval.
    send_claim_seconds: float = Field(default=25.0, gt=0, validation_alias="SEND_CLAIM_SECONDS")
    # requests to Twilio in flight at once (across participants; each one's replies in order)
    send_concurrency: int = Field(default=50, ge=1, validation_alias="SEND_CONCURRENCY")
    # the WhatsApp sender's throughput (messages per second): Twilio queues what exceeds it
    twilio_mps: float = Field(default=10.0, gt=0, validation_alias="TWILIO_MPS")
    # Inbox items still pending after the grace period, and replies no sender holds (pending,
    # or a claim that ended), are picked up again (after a crash) on start and every interval.
    # A process that dies: its participants' messages are taken over within
    # max(grace, TURN_SECONDS) + interval, its claimed replies within SEND_CLAIM_SECONDS +
    # interval (40 s with these defaults; README, "Several processes").
    recovery_interval_seconds: float = Field(default=15.0, gt=0, validation_alias="RECOVERY_INTERVAL_SECONDS")
    # a message the flow raises on this many times is kept aside as `unprocessed`
    process_max_attempts: int = Field(default=3, ge=1, validation_alias="PROCESS_MAX_ATTEMPTS")
    recovery_grace_seconds: float = Field(default=15.0, ge=0, validation_alias="RECOVERY_GRACE_SECONDS")
    # how long a process's turn at a participant's waiting messages lasts (renewed by each of
    # its commits), and how long a message it recorded is left to it by other processes
    turn_seconds: float = Field(default=15.0, gt=0, validation_alias="TURN_SECONDS")

    # operations: logs, and how soon a `listener block` reaches every web process
    log_format: Literal["json", "text"] = Field(default="json", validation_alias="LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", validation_alias="LOG_LEVEL")
    blocklist_cache_seconds: float = Field(default=30.0, ge=0, validation_alias="BLOCKLIST_CACHE_SECONDS")

    # the web console (`/console`): without a token it answers loopback clients only
    console_token: SecretStr | None = Field(default=None, validation_alias="CONSOLE_TOKEN")
    # wrong console tokens one client address may try before each further try waits
    # LOGIN_LOCKOUT_SECONDS, doubling with every failure up to LOGIN_LOCKOUT_MAX_SECONDS
    login_max_failures: int = Field(default=5, ge=1, validation_alias="LOGIN_MAX_FAILURES")
    login_lockout_seconds: float = Field(default=30.0, gt=0, validation_alias="LOGIN_LOCKOUT_SECONDS")
    login_lockout_max_seconds: float = Field(default=3600.0, gt=0, validation_alias="LOGIN_LOCKOUT_MAX_SECONDS")
    # proxies in front of the app that append the client's address to X-Forwarded-For
    # (Heroku's router: 1); the login limit counts failures per address found that far
    # from the header's end, which a client cannot forge
    proxy_hops: int = Field(default=1, ge=0, le=10, validation_alias="PROXY_HOPS")
    # `/metrics` asks for `Authorization: Bearer <METRICS_TOKEN>` when this is set (and
    # is closed in production while it is not)
    metrics_token: SecretStr | None = Field(default=None, validation_alias="METRICS_TOKEN")

    # OpenAI
    openai_api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", validation_alias="OPENAI_MODEL")
    openai_transcribe_model: str = Field(
        default="gpt-4o-mini-transcribe", validation_alias="OPENAI_TRANSCRIBE_MODEL"
    )
    openai_timeout_seconds: float = Field(default=8.0, gt=0, validation_alias="OPENAI_TIMEOUT_SECONDS")
    openai_max_retries: int = Field(default=2, ge=0, le=10, validation_alias="OPENAI_MAX_RETRIES")
    # the longest a message waits on the model, retries included, before the rules read
    # its answer or the template is sent; and how many model calls one process makes at once
    openai_deadline_seconds: float = Field(default=10.0, gt=0, validation_alias="OPENAI_DEADLINE_SECONDS")
    openai_max_in_flight: int = Field(default=256, ge=1, validation_alias="OPENAI_MAX_IN_FLIGHT")
    # `verbose_json` reports the detected language with whisper-class models; `json` is the
    # one format every transcription model accepts.
    openai_transcribe_format: Literal["json", "verbose_json"] = Field(
        default="json", validation_alias="OPENAI_TRANSCRIBE_FORMAT"
    )

    # Firestore
    firebase_credentials: str | None = Field(default=None, validation_alias="FIREBASE_CREDENTIALS")
    google_cloud_project: str | None = Field(default=None, validation_alias="GOOGLE_CLOUD_PROJECT")
    firestore_emulator_host: str | None = Field(default=None, validation_alias="FIRESTORE_EMULATOR_HOST")

    @property
    def media_hosts(self) -> list[str]:
        return [host.strip().lower() for host in self.twilio_media_hosts.split(",") if host.strip()]

    @field_validator("environment", mode="before")
    @classmethod
    def _known_environment(cls, value: object) -> object:
        """Refuse a name that is not one of ours, rather than run it as development."""
        if not isinstance(value, str):
            return value
        name = value.strip().lower()
        name = ENVIRONMENT_ALIASES.get(name, name)
        if name not in ENVIRONMENTS:
            raise PydanticCustomError(
                "unknown_environment",
                "'{given}' is not an environment this app knows: use development, test or production",
                {"given": value},
            )
        return name

    @model_validator(mode="after")
    def _send_deadline_within_claim(self) -> Settings:
        """A request still waiting on Twilio when its claim lapses could be sent again by
        another process: the deadline must end first."""
        if self.send_timeout_seconds >= self.send_claim_seconds:
            raise ValueError(
                f"SEND_TIMEOUT_SECONDS ({self.send_timeout_seconds:g}) must be shorter than "
                f"SEND_CLAIM_SECONDS ({self.send_claim_seconds:g})"
            )
        return self

    @property
    def production(self) -> bool:
        return self.environment == "production"
