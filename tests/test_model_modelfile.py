"""The Modelfile and takeaways.yaml: one source for the served model's name and sampling, the
prompt format for the template; the committed Modelfile stays what the renderer makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.deployment_config import load_deployment_config
from takeaways_daemon.errors import ConfigError
from training.modelfile import (
    RENDERED_PATH,
    ModelfileError,
    parse_modelfile,
    render_modelfile,
)
from training.recipe import Recipe, load_recipe


def test_the_rendered_modelfile_carries_the_prompt_format_and_the_yaml_parameters():
    parsed = parse_modelfile(render_modelfile("/models/t.gguf", load_deployment_config()))
    assert parsed.from_ == "/models/t.gguf"
    assert parsed.template == prompt_format.ollama_template()
    assert parsed.system == prompt_format.SYSTEM_PROMPT
    assert parsed.parameters == {
        "temperature": 0.7, "top_p": 0.9, "repeat_penalty": 1.1, "num_ctx": 4096,
        "stop": ["### Instruction:", "### Input:", "### Response:"],
    }  # fmt: skip


def test_the_committed_modelfile_is_up_to_date():
    expected = render_modelfile("./takeaways.gguf", load_deployment_config())
    assert RENDERED_PATH.read_text() == expected, (
        "run `takeaways model modelfile --out modelfiles/Modelfile`"
    )


def test_a_changed_yaml_changes_the_modelfile(tmp_path: Path):
    yaml_file = tmp_path / "takeaways.yaml"
    yaml_file.write_text("name: mine\nparameters:\n  temperature: 0.2\n")
    parsed = parse_modelfile(render_modelfile("m.gguf", load_deployment_config(yaml_file)))
    assert parsed.parameters["temperature"] == 0.2
    assert "top_p" not in parsed.parameters


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\ncolour: red\n", "unknown keys colour"),
        ("parameters:\n  temprature: 0.7\n", "unknown Ollama parameter 'temprature'"),
        ("parameters:\n  num_ctx: 1.5\n", "whole number"),
        ("name: 'a b'\n", "single word"),
    ],
)
def test_a_bad_deployment_config_names_the_fix(tmp_path: Path, text: str, message: str):
    yaml_file = tmp_path / "takeaways.yaml"
    yaml_file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_deployment_config(yaml_file)


def test_an_unclosed_block_or_a_missing_from_does_not_parse():
    with pytest.raises(ModelfileError, match="never closed"):
        parse_modelfile('FROM x\nSYSTEM """open\n')
    with pytest.raises(ModelfileError, match="no FROM"):
        parse_modelfile("PARAMETER temperature 0.1\n")


def test_recipes_keep_the_seed_defaults_and_reject_nonsense():
    seed = load_recipe("mistral-7b").train
    # The seed's 4 x 4 = 16 rows per optimizer step, taken as 8-row micro-batches twice (a GPU
    # step is faster with larger micro-batches; the optimisation is the same).
    assert (seed.epochs, seed.batch_size * seed.grad_accum, seed.lr, seed.log_every) == (
        3, 16, 2e-4, 10,
    )  # fmt: skip
    assert seed.save_every_epoch and seed.quantization == "4bit"
    assert load_recipe("gemma-3-270m").base == "embedded"
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        Recipe().with_overrides(batch_size=0)
    with pytest.raises(ConfigError, match="unknown recipe fields: bath_size"):
        Recipe().with_overrides(bath_size=4)
    with pytest.raises(ConfigError, match="no recipe 'llama-99b'"):
        load_recipe("llama-99b")
