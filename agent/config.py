"""Which OpenAI-compatible server the agent talks to: from the environment, else from `agent.toml`.

Nothing here turns the network on by surprise: the backend is configured only when a base URL is (an
`OPENAI_API_KEY` lying in the environment for other tools is not a request to send the lesson to OpenAI). The key
itself is kept out of files where it can be (`api_key_env` names the variable that holds it) and out of every repr.
"""

from __future__ import annotations

import math
import os
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flutex.host.errors import UsageError

ENV_BASE_URL = "FLUTEX_LLM_BASE_URL"
ENV_MODEL = "FLUTEX_LLM_MODEL"
ENV_API_KEY = "FLUTEX_LLM_API_KEY"
ENV_TIMEOUT_S = "FLUTEX_LLM_TIMEOUT_S"
ENV_MAX_RETRIES = "FLUTEX_LLM_MAX_RETRIES"
ENV_ACTIONS = "FLUTEX_LLM_ACTIONS"
ENV_MAX_TOKENS = "FLUTEX_LLM_MAX_TOKENS"
ENV_TEMPERATURE = "FLUTEX_LLM_TEMPERATURE"
ENV_OPENAI_KEY = "OPENAI_API_KEY"  # honoured only for a configured server: other tools set it too
FILE_KEYS = (
    "base_url", "model", "api_key_env", "api_key", "timeout_s", "max_retries", "actions", "max_tokens", "temperature",
)  # fmt: skip
# Who turns a student's request into actions: the model (through validated tool calls, behind the consent gate), or
# the offline rules, the model then only talking and proposing (for small local models that call tools wildly).
ACTIONS = ("model", "rules")


@dataclass(frozen=True)
class BackendConfig:
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)  # never in a repr, a log or a message
    timeout_s: float = 30.0  # the longest silence accepted from the server: connecting, or between streamed pieces
    max_retries: int = 2  # after the first attempt, on a timeout, a refused connection, 429 or 5xx
    key_source: str | None = None  # where the key came from ("FLUTEX_LLM_API_KEY"), named when the server refuses it
    actions: str = "model"  # ACTIONS: "rules" leaves actions to the offline rules; the model talks and proposes
    # sent only when set: a small local model needs a cap and a low temperature or it rambles until its context is
    # full, while some hosted models refuse either parameter
    max_tokens: int | None = None
    temperature: float | None = None


def default_path(environ: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_CONFIG_HOME/flutex/agent.toml`, the place the other per-user settings of Flute X live beside."""
    config_home = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "flutex" / "agent.toml"


def load_config(environ: Mapping[str, str] = os.environ, path: Path | None = None) -> BackendConfig | None:
    """The configured server, or None when none is (then the offline agent answers).

    Each setting comes from its environment variable when set, else from the file (`path`, default `default_path`;
    a missing default file is no error, a missing named one is). Bad values raise `UsageError` naming the variable
    or the file and what to write instead.
    """
    file_values, file_name = _read_file(path, environ)
    settings = {
        "base_url": _from_env_or_file(environ, ENV_BASE_URL, file_values, "base_url", file_name),
        "model": _from_env_or_file(environ, ENV_MODEL, file_values, "model", file_name),
        "timeout_s": _from_env_or_file(environ, ENV_TIMEOUT_S, file_values, "timeout_s", file_name),
        "max_retries": _from_env_or_file(environ, ENV_MAX_RETRIES, file_values, "max_retries", file_name),
        "actions": _from_env_or_file(environ, ENV_ACTIONS, file_values, "actions", file_name),
        "max_tokens": _from_env_or_file(environ, ENV_MAX_TOKENS, file_values, "max_tokens", file_name),
        "temperature": _from_env_or_file(environ, ENV_TEMPERATURE, file_values, "temperature", file_name),
    }
    base_url, base_url_origin = settings["base_url"]
    model, model_origin = settings["model"]
    if base_url is None:
        if model is not None:
            raise UsageError(
                f"{model_origin} names a model but no server is configured: set {ENV_BASE_URL} "
                "(e.g. https://api.openai.com/v1, or http://127.0.0.1:8080/v1 for a local llama.cpp server)"
            )
        return None
    if model is None:
        raise UsageError(f"no model for the server at {base_url}: set {ENV_MODEL} or `model` in {file_name}")
    api_key, key_source = _api_key(environ, file_values, file_name)
    return BackendConfig(
        base_url=_checked_url(base_url, base_url_origin),
        model=_checked_model(model, model_origin),
        api_key=api_key,
        timeout_s=_checked_timeout(*settings["timeout_s"]),
        max_retries=_checked_retries(*settings["max_retries"]),
        key_source=key_source,
        actions=_checked_actions(*settings["actions"]),
        max_tokens=_checked_max_tokens(*settings["max_tokens"]),
        temperature=_checked_temperature(*settings["temperature"]),
    )


def _read_file(path: Path | None, environ: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """The file's settings (empty when the default file does not exist) and its name for messages."""
    named = path is not None
    path = path if path is not None else default_path(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise UsageError(f"no agent config file at {path}: check the path") from None
        return {}, str(path)
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the agent config file {path}: {error}") from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path} is not valid TOML: {error}") from None
    unknown = sorted(set(values) - set(FILE_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(FILE_KEYS)}")
    return values, str(path)


def _from_env_or_file(
    environ: Mapping[str, str], variable: str, file_values: dict[str, Any], key: str, file_name: str
) -> tuple[Any, str]:
    """The value and where it came from ("FLUTEX_LLM_MODEL", "`model` in FILE"), the environment first."""
    value = environ.get(variable, "").strip()
    if value:
        return value, variable
    return file_values.get(key), f"`{key}` in {file_name}"


def _api_key(environ: Mapping[str, str], file_values: dict[str, Any], file_name: str) -> tuple[str | None, str | None]:
    """The key and the name of where it came from; None when the server needs none (a local one)."""
    if environ.get(ENV_API_KEY):
        return environ[ENV_API_KEY], ENV_API_KEY
    key_env = file_values.get("api_key_env")
    literal = file_values.get("api_key")
    if key_env is not None and literal is not None:
        raise UsageError(f"{file_name} has both api_key and api_key_env: keep api_key_env only")
    if key_env is not None:
        if not isinstance(key_env, str) or not key_env.strip():
            raise UsageError(f'`api_key_env` in {file_name} must name an environment variable, e.g. "OPENAI_API_KEY"')
        if not environ.get(key_env):
            raise UsageError(f"`api_key_env` in {file_name} names {key_env}, which is not set: export it")
        return environ[key_env], f"{key_env} (api_key_env in {file_name})"
    if literal is not None:
        if not isinstance(literal, str) or not literal:
            raise UsageError(f'`api_key` in {file_name} is not a key: use api_key_env = "NAME" (a variable\'s name)')
        warnings.warn(
            f'{file_name} holds the API key itself: prefer api_key_env = "NAME" naming a variable that holds it',
            UserWarning,
            stacklevel=3,
        )
        return literal, f"`api_key` in {file_name}"
    if environ.get(ENV_OPENAI_KEY):
        return environ[ENV_OPENAI_KEY], ENV_OPENAI_KEY
    return None, None


def _checked_url(value: Any, origin: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{origin} must be an http(s) URL such as http://127.0.0.1:8080/v1 or https://api.openai.com/v1, "
            f"not {value!r}"
        )
    return value.rstrip("/")


def _checked_model(value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{origin} must be a model name such as gpt-4o-mini or qwen2.5, not {value!r}")
    return value.strip()


def _checked_timeout(value: Any, origin: str) -> float:
    if value is None:
        return BackendConfig.timeout_s
    number = _number(value, origin, "a number of seconds such as 30")
    if not math.isfinite(number) or number <= 0:
        raise UsageError(f"{origin} must be a positive number of seconds such as 30, not {value!r}")
    return number


def _checked_retries(value: Any, origin: str) -> int:
    if value is None:
        return BackendConfig.max_retries
    number = _number(value, origin, "a whole number such as 2")
    if not math.isfinite(number) or number != int(number) or number < 0:
        raise UsageError(f"{origin} must be a whole number of retries (0 or more) such as 2, not {value!r}")
    return int(number)


def _checked_actions(value: Any, origin: str) -> str:
    if value is None:
        return BackendConfig.actions
    if value not in ACTIONS:
        raise UsageError(f"{origin} must be one of {', '.join(ACTIONS)}, not {value!r}")
    return value


def _checked_max_tokens(value: Any, origin: str) -> int | None:
    if value is None:
        return None
    number = _number(value, origin, "a whole number of tokens such as 300")
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise UsageError(f"{origin} must be a whole number of tokens (1 or more) such as 300, not {value!r}")
    return int(number)


def _checked_temperature(value: Any, origin: str) -> float | None:
    if value is None:
        return None
    number = _number(value, origin, "a number from 0 to 2 such as 0.2")
    if not 0.0 <= number <= 2.0:
        raise UsageError(f"{origin} must be a number from 0 to 2 such as 0.2, not {value!r}")
    return number


def _number(value: Any, origin: str, expected: str) -> float:
    """A number from TOML (int or float, not a boolean) or from an environment variable's text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(f"{origin} must be {expected}, not {value!r}")
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{origin} must be {expected}, not {value!r}") from None
