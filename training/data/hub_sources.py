"""Named public data sets, loaded by hub id through `datasets.load_dataset`.

This is the code path for users with internet access; nothing here is downloaded by the tests
or the default build. Rows go through the same normalization as local files, so a local file
shaped like one of these sets (same columns) gives the same records.
"""

from __future__ import annotations

from dataclasses import dataclass

from training.data.alpaca_record import AlpacaRecord
from training.data.errors import HubSourceUnavailable
from training.data.local_files import normalize_row


@dataclass(frozen=True)
class HubSource:
    """A public data set: its hub id, split, and the name its records carry."""

    name: str
    hub_id: str
    split: str = "train"


NAMED_SOURCES: dict[str, HubSource] = {
    # 20k instruction / input / output rows generated in the Alpaca style for code.
    "codealpaca": HubSource("codealpaca", "sahil2801/CodeAlpaca-20k"),
    # CodeInstruct (published as InstructCoder): 114k code-editing instruction / input / output.
    "codeinstruct": HubSource("codeinstruct", "likaixin/InstructCoder"),
}


def resolve(name_or_id: str) -> HubSource:
    """The named source (`codealpaca`, `codeinstruct`) or any `owner/name` hub id."""

    def squashed(text: str) -> str:
        return text.lower().replace("-", "").replace("_", "")

    for source in NAMED_SOURCES.values():
        # `codealpaca`, `CodeAlpaca-20k` and `sahil2801/CodeAlpaca-20k` all name the same set.
        names = (source.name, squashed(source.hub_id), squashed(source.hub_id.split("/")[1]))
        if squashed(name_or_id) in names:
            return source
    if name_or_id.count("/") != 1:
        known = ", ".join(NAMED_SOURCES)
        raise HubSourceUnavailable(
            f"{name_or_id!r} is neither a known source ({known}) nor a hub id like owner/name, "
            "nor an existing file; check the spelling or pass a local Alpaca file"
        )
    return HubSource(name_or_id.split("/", 1)[1].lower(), name_or_id)


def load_hub_records(name_or_id: str, *, limit: int | None = None) -> list[AlpacaRecord]:
    """A hub data set's rows as normalized records (at most `limit`), or a clear error offline."""
    source = resolve(name_or_id)
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency; a broken install lacks it
        raise HubSourceUnavailable(
            "the `datasets` package is missing; reinstall takeaways"
        ) from None
    try:
        rows = datasets.load_dataset(source.hub_id, split=source.split)
    except (ConnectionError, OSError, ValueError) as error:
        # datasets raises ConnectionError offline, FileNotFoundError/DatasetNotFoundError for a
        # wrong id: both mean "not from here, not now".
        raise HubSourceUnavailable(
            f"cannot load {source.hub_id} from the Hugging Face Hub ({error}); without internet "
            f"(or with HF_HUB_OFFLINE=1), download it elsewhere and pass it as a local file: "
            f"takeaways data build --source FILE.jsonl"
        ) from None
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    name = f"hub:{source.name}"
    return [
        record
        for number, row in enumerate(rows, start=1)
        if (record := normalize_row(row, source=name, where=f"{source.hub_id}: row {number}"))
    ]
