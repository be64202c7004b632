"""The one `Settings` object: defaults, then `config.toml`, then `TAKEAWAYS_*` variables.

Nested fields use `__` in variable names: `TAKEAWAYS_SAMPLING__TEMPERATURE=0.2`.
`takeaways config show` prints every value with the layer it came from.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from takeaways_daemon import locations
from takeaways_daemon.deployment_config import served_model
from takeaways_daemon.errors import ConfigError
from takeaways_daemon.kinds import AUTOMATIC_KINDS, TaskKind
from takeaways_daemon.model_identity import FewShotPolicy

ENV_PREFIX = "TAKEAWAYS_"
ENV_NESTED_DELIMITER = "__"


class WatcherSettings(BaseModel):
    """How the project folder is watched."""

    model_config = ConfigDict(extra="forbid")

    debounce_ms: int = Field(400, ge=0, le=60_000)
    """Quiet time after a file's last event before it is analysed; later saves restart the wait."""
    max_file_bytes: int = Field(512 * 1024, ge=1)
    """Files larger than this are skipped: they are rarely hand-edited source."""
    queue_max_files: int = Field(4096, ge=1)
    """Most files waiting for analysis at once; past it the watcher drops work and rescans."""
    burst_events: int = Field(2000, ge=10)
    """Events within one second that count as a burst (a checkout, a build): triggers a rescan."""
    extra_ignores: list[str] = Field(default_factory=list)
    """More gitignore-style patterns to skip, on top of `.gitignore` and the built-in list."""
    force_polling: bool = False
    """Poll instead of using inotify (network file systems, or to test the fallback)."""
    polling_interval_s: float = Field(1.0, gt=0)
    """How often the polling fallback looks at the tree."""


class SamplingSettings(BaseModel):
    """Decoding parameters sent to every backend (defaults: `takeaways.yaml`'s, the seed's)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(
        default_factory=lambda: float(served_model().parameter("temperature")), ge=0
    )
    """Randomness; 0 is greedy."""
    top_p: float = Field(
        default_factory=lambda: float(served_model().parameter("top_p")), gt=0, le=1
    )
    """Nucleus sampling mass."""
    repeat_penalty: float = Field(
        default_factory=lambda: float(served_model().parameter("repeat_penalty")), ge=0
    )
    """Penalty for repeating recent tokens."""
    max_tokens: int = Field(384, ge=1)
    """Longest answer, in tokens."""
    num_ctx: int = Field(default_factory=lambda: int(served_model().parameter("num_ctx")), ge=256)
    """Context window, in tokens."""
    seed: int | None = None
    """Fixed seed for reproducible answers; None picks a fresh one each time."""
    candidates: int = Field(3, ge=1, le=10)
    """Answers sampled per task until one passes validation (best of n)."""


class OllamaSettings(BaseModel):
    """The Ollama server, preferred when it runs and has the model."""

    model_config = ConfigDict(extra="forbid")

    host: str = "http://127.0.0.1:11434"
    """Ollama's base URL."""
    model: str = Field(default_factory=lambda: served_model().name)
    """Model name in Ollama (default: `name` in `takeaways.yaml`)."""
    keep_alive: str = "30m"
    """How long Ollama keeps the model loaded after a request."""
    connect_timeout_s: float = Field(2.0, gt=0)
    """Give up connecting after this long."""
    first_token_timeout_s: float = Field(120.0, gt=0)
    """A request that has produced nothing for this long is abandoned (model loading included)."""
    stall_timeout_s: float = Field(30.0, gt=0)
    """A stream silent for this long between chunks is abandoned."""


class EmbeddedSettings(BaseModel):
    """The in-process llama-cpp-python backend."""

    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = None
    """A GGUF to serve; default: the built takeaways GGUF, else the packaged gemma-3-270m."""
    n_threads: int | None = None
    """CPU threads for generation; default: all cores."""
    prompt_cache_mb: int = Field(0, ge=0)
    """RAM for saved prompt states across files; 0 (default) keeps only the live context's.

    The live context already skips the prefill of the prefix a prompt shares with the previous
    one (the same file again: about 45x faster on gemma-3-270m). Saved states help when many
    files interleave on a big model, but restoring one costs more than it saves on small ones.
    """
    generation_timeout_s: float = Field(180.0, gt=0)
    """A generation running longer than this is abandoned."""
    prompt_lookup_tokens: int = Field(0, ge=0, le=64)
    """Prompt-lookup decoding: draft up to this many tokens copied from the prompt (a fix
    copies most of its input) and check them in one pass; 0 (default) turns it off. It needs
    logits for every position (n_ctx x vocabulary floats) and, in llama-cpp-python 0.3.36, changes
    greedy answers under an answer grammar; measured slower here (`bench/fix_lookup.py`)."""
    parallel_sequences: int = Field(8, ge=1, le=64)
    """Samples of one prompt decoded together as parallel sequences of one llama.cpp batch
    (a fix's one-line candidates); 1 asks for them one after another. The batch has its own
    KV cache of `sampling.num_ctx` cells beside the model's (`bench/parallel_candidates.py`)."""


DEFAULT_PREFERENCE = ("ollama", "embedded")
"""The backends tried when `backend.prefer` is not set (or is the old "auto")."""


def _preference_list(value: Any) -> Any:
    """`backend.prefer` as a list of names; also takes the old forms, `"auto"` and one name.

    >>> _preference_list("auto"), _preference_list("embedded"), _preference_list("mine, embedded")
    (['ollama', 'embedded'], ['embedded'], ['mine', 'embedded'])
    >>> _preference_list('["mine", "embedded"]')
    ['mine', 'embedded']
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):  # a JSON list, as an environment variable carries one
            return json.loads(text)
        if text == "auto":
            return list(DEFAULT_PREFERENCE)
        return [name.strip() for name in text.split(",") if name.strip()]
    if isinstance(value, list | tuple) and list(value) == ["auto"]:
        return list(DEFAULT_PREFERENCE)
    return value


class BackendSettings(BaseModel):
    """Which model answers. `[backend.NAME]` configures the backend registered as NAME.

    `ollama` and `embedded` are typed here; a plugin backend's section is kept as given and
    validated by that backend's own `Options` when the registry creates it.
    """

    model_config = ConfigDict(extra="allow")

    prefer: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PREFERENCE), min_length=1
    )
    """Registered backend names, tried in order; the first that is ready answers."""
    recheck_interval_s: float = Field(15.0, gt=0)
    """How often a failed backend is probed again."""
    ollama: OllamaSettings = Field(default_factory=OllamaSettings)
    """Ollama server settings."""
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    """Embedded llama-cpp-python settings."""

    @field_validator("prefer", mode="before")
    @classmethod
    def _old_forms_of_prefer(cls, value: Any) -> Any:
        return _preference_list(value)

    @field_validator("prefer")
    @classmethod
    def _each_name_once(cls, names: list[str]) -> list[str]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return names

    @model_validator(mode="after")
    def _plugin_sections_are_tables(self) -> BackendSettings:
        for name, value in self.plugin_sections().items():
            if not isinstance(value, dict):
                raise ValueError(
                    f"backend.{name} must be a table of that backend's options ([backend.{name}])"
                )
        return self

    def plugin_sections(self) -> dict[str, Any]:
        """The sections of backends other than the built-in ones, as given (name → options)."""
        return dict(self.model_extra or {})

    def section(self, name: str) -> BaseModel | dict[str, Any]:
        """The options given for backend `name`: typed for the built-ins, a dict for plugins."""
        if name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, BaseModel):
                return value
        return dict(self.plugin_sections().get(name, {}))


class ApiSettings(BaseModel):
    """The daemon's local API."""

    model_config = ConfigDict(extra="forbid")

    transport: Literal["unix", "tcp"] = "unix"
    """unix: a 0600 socket in the state folder; tcp: 127.0.0.1 only."""
    port: int = Field(0, ge=0, le=65535)
    """TCP port; 0 picks a free one (written to the daemon's runtime file)."""
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    """Requests larger than this are refused with 413."""


class TaskSettings(BaseModel):
    """Which suggestions the daemon makes on its own after a save."""

    model_config = ConfigDict(extra="forbid")

    enabled: list[TaskKind] = Field(default_factory=lambda: list(AUTOMATIC_KINDS))
    """Task kinds run automatically; `explain` is on demand unless listed here."""
    max_context_lines: int = Field(80, ge=5)
    """Most lines of a file shown to the model around a change."""
    few_shot: FewShotPolicy = "auto"
    """Show the model a worked example first; auto: only for models not tuned on our format."""


class TuiSettings(BaseModel):
    """The terminal UI (`takeaways-tui`)."""

    model_config = ConfigDict(extra="forbid")

    bindings: dict[str, str] = Field(default_factory=dict)
    """Binding id → key(s), e.g. `accept = "ctrl+y"`; F1 in the TUI lists every id and key.
    The TUI checks the ids when it starts: the daemon does not know the TUI's bindings."""
    stop_daemon_on_exit: Literal["ask", "always", "never"] = "ask"
    """When the TUI started the daemon itself: ask on quit, always stop it, or leave it running."""
    status_interval_s: float = Field(2.0, gt=0)
    """How often the status bar asks the daemon for its backend, queue and latency."""


class HistorySettings(BaseModel):
    """The encrypted local history of suggestions and what was done with them."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Record every suggestion, encrypted; false records nothing (the daemon then never asks for
    a key)."""
    db_path: Path | None = None
    """The SQLite file; default: `history.sqlite3` in the state folder (under TAKEAWAYS_HOME)."""
    max_age_days: float = Field(365, ge=0)
    """Rows older than this are deleted (audited); 0 keeps them forever."""
    max_mb: float = Field(256, ge=0)
    """When the rows' payloads pass this size, the oldest are deleted (audited); 0: no limit."""
    key_source: Literal["keyring", "passphrase-file"] = "keyring"
    """Where the data key lives: the OS keyring, or (opt-in) a passphrase-protected key file."""
    key_file: Path | None = None
    """The passphrase key file; default: `history.keyfile` in the state folder. The passphrase
    comes from TAKEAWAYS_HISTORY_PASSPHRASE, or a prompt when stdin is a terminal."""
    keyring_service: str = Field("takeaways", min_length=1)
    """The keyring service name the keys are stored under."""
    keyring_timeout_s: float = Field(4.0, gt=0)
    """A keyring call that takes longer (a locked keyring waiting on a prompt) is an error."""


class LearningSettings(BaseModel):
    """The opt-in learning loop: rounds of training on the suggestions you accepted."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    """Learn from accepted suggestions; false (default): nothing reads history for training."""
    accepted_per_round: int = Field(30, ge=1)
    """An automatic round starts after this many new accepted suggestions (K)."""
    keep_versions: int = Field(5, ge=1)
    """Models kept for rollback, with their gate reports and adapters (N; the served one too)."""
    base: str = "embedded"
    """The Hugging Face base the adapter belongs to (`embedded`: the packaged gemma-3-270m)."""
    recipe: str | None = None
    """A recipe name or YAML path for rounds; default: the base's own recipe, one epoch."""
    max_steps: int | None = Field(None, ge=1)
    """Optimizer steps per round; None: one epoch over the round's examples."""
    replay_ratio: float = Field(1.0, ge=0)
    """Replayed base-data examples per new example, so the model does not forget."""
    replay_data: Path | None = None
    """An Alpaca JSONL to replay; default: the data of the last `takeaways model build`."""
    verified_weight: int = Field(2, ge=1)
    """Times a verified fix is repeated in a round (unverified ones appear once)."""
    holdout_fraction: float = Field(0.2, ge=0, lt=1)
    """Share of a round's accepted suggestions kept out of training to measure its loss."""
    quant: Literal["f16", "q8_0", "q4_K_M"] = "q4_K_M"
    """The GGUF type served after a round."""
    humaneval_problems: int = Field(20, ge=0)
    """HumanEval problems the gate runs (pass@1, greedy) on both models; 0 skips the check."""
    humaneval_margin: float = Field(0.02, ge=0, le=1)
    """The candidate's pass@1 may be lower than the served one's by at most this."""
    fix_bugs: int = Field(10, ge=0)
    """Held-out injected bugs with tests the gate asks both models to fix; 0 skips the check."""
    fix_margin: float = Field(0.0, ge=0, le=1)
    """The candidate's fix success may be lower than the served one's by at most this."""
    format_margin: float = Field(0.0, ge=0, le=1)
    """The candidate's share of well-formed answers may be lower by at most this."""
    loss_margin: float = Field(0.0, ge=0)
    """The candidate's held-out loss must be below the served one's by more than this."""
    idle_max_load: float = Field(0.5, ge=0)
    """Automatic rounds start only while the 1-minute load average per core is below this."""
    idle_queue_s: float = Field(120.0, ge=0)
    """... and the daemon's queue has been empty for this long."""
    check_interval_s: float = Field(30.0, gt=0)
    """How often the daemon checks whether an automatic round is due."""
    register_ollama: bool = True
    """Re-register `takeaways` in Ollama after a swap or rollback (skipped when none answers)."""


FixTests = Literal["off", "on-failure", "scan-only"]


class FixSettings(BaseModel):
    """Fixes for real bugs: where they come from and how each candidate is checked first."""

    model_config = ConfigDict(extra="forbid")

    tests: FixTests = "on-failure"
    """Failing tests as fix evidence: `on-failure` re-runs the tests pytest last saw failing (in
    the sandbox) whenever its cache changes; `scan-only` runs tests only for `scan --tests`;
    `off` never runs the project's tests."""
    python: Path | None = None
    """The interpreter (or venv folder) for the project's tests; default: the project's own
    `.venv/` or `venv/`, else the daemon's."""
    diagnostics: bool = True
    """Plan fixes for ruff's bug-finding findings (undefined names, mutable defaults, ...)."""
    show_unverified: bool = False
    """Also show fixes whose check failed, marked unverified; by default only verified fixes are
    shown when a check exists."""
    verify_budget_s: float = Field(30.0, gt=0)
    """Time one fix may spend on candidates and their checks before giving up."""
    max_candidates: int = Field(8, ge=1, le=32)
    """Most candidates tried for one fix: best-of-n starts at `sampling.candidates` and grows to
    this while none verifies and the time budget lasts."""
    line_candidates: bool = True
    """After the model's most likely rewrite, also try each suspect line written again on its own
    (`line_repair`: a few samples a line, all checked like any candidate) before sampling more
    rewrites; false: rewrites only."""
    test_timeout_s: float = Field(60.0, gt=0)
    """Wall-clock limit for one sandboxed test run; the run and all it started are killed."""


class Settings(BaseSettings):
    """Everything configurable in takeaways."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
    )

    watcher: WatcherSettings = Field(default_factory=WatcherSettings)
    """File watching."""
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    """Decoding."""
    backend: BackendSettings = Field(default_factory=BackendSettings)
    """Model backends."""
    api: ApiSettings = Field(default_factory=ApiSettings)
    """Local API."""
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    """Automatic tasks."""
    history: HistorySettings = Field(default_factory=HistorySettings)
    """Encrypted suggestion history."""
    tui: TuiSettings = Field(default_factory=TuiSettings)
    """Terminal UI."""
    learning: LearningSettings = Field(default_factory=LearningSettings)
    """Opt-in retraining on accepted suggestions (`takeaways learn on`)."""
    fix: FixSettings = Field(default_factory=FixSettings)
    """Fixes for real bugs and their checks."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: init (tests), then env, then the TOML file, then the defaults.
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=locations.config_file()),
        )


def load_settings(**overrides: Any) -> Settings:
    """Build the effective settings, turning a bad file or variable into a `ConfigError`."""
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as error:
        path = locations.config_file()
        raise ConfigError(f"{path} is not valid TOML ({error}); fix or remove it") from None
    except ValidationError as error:
        hints = "".join(f"; {hint}" for hint in _spelling_hints(error))
        raise ConfigError(f"{invalid_settings(error)}{hints}") from None


def _spelling_hints(error: ValidationError) -> list[str]:
    """ "did you mean `tasks.enabled`?" for each unknown name that is close to a real one."""
    import difflib

    hints = []
    for item in error.errors():
        if item["type"] != "extra_forbidden":
            continue
        *parents, name = (str(part) for part in item["loc"])
        model: Any = Settings
        for part in parents:
            field = model.model_fields.get(part)
            model = field.annotation if field is not None else None
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                break
        else:
            close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.6)
            if close:
                where = ".".join([*parents, name])
                hints.append(f"`{where}`: did you mean `{'.'.join([*parents, close[0]])}`?")
    return hints


def invalid_settings(error: ValidationError, section: str = "") -> ConfigError:
    """A validation error as one readable line naming each bad field, the file and the variables.

    `section` prefixes the names when `error` came from validating one section on its own (a
    plugin backend's options, which the registry validates).
    """
    prefix = f"{section}." if section else ""
    problems = "; ".join(
        f"{prefix}{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors()
    )
    return ConfigError(
        f"invalid settings ({problems}); check {locations.config_file()} and TAKEAWAYS_* variables"
    )


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _env_keys() -> set[str]:
    keys = set()
    for name in os.environ:
        if name.startswith(ENV_PREFIX) and name != "TAKEAWAYS_HOME":
            keys.add(name[len(ENV_PREFIX) :].lower().replace(ENV_NESTED_DELIMITER, "."))
    return keys


def _file_keys() -> set[str]:
    path = locations.config_file()
    if not path.exists():
        return set()
    with path.open("rb") as handle:
        return set(_flatten(tomllib.load(handle)))


def describe_sources(settings: Settings) -> list[tuple[str, Any, str]]:
    """Each setting as (dotted name, value, source), where source is default, file or env."""
    env_keys, file_keys = _env_keys(), _file_keys()
    rows = []
    for name, value in _flatten(settings.model_dump(mode="json")).items():
        # A whole section may come from one env var holding JSON: match by prefix too.
        if any(name == key or name.startswith(f"{key}.") for key in env_keys):
            source = "env"
        elif name in file_keys:
            source = f"file ({locations.config_file()})"
        else:
            source = "default"
        rows.append((name, value, source))
    return rows
