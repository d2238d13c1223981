"""The agent's own settings: the LLM keys. The engine knows no LLM, so they live here.

Read like the engine's settings, from the environment and `.env`, as `SecretStr` so they never
appear in a repr, a log line or an exception message.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")

    def keys(self) -> list[str]:
        """The LLM keys that are set, as plain text (for redaction only)."""
        found = (self.openai_api_key, self.anthropic_api_key)
        return [k.get_secret_value() for k in found if k is not None and k.get_secret_value()]


def load_agent_settings() -> AgentSettings:
    """Read now; not cached, so a changed environment (or a test's) takes effect."""
    return AgentSettings()
