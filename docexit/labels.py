"""The 16 RVL-CDIP classes, in RVL-CDIP's own label order (index = integer label in its files)."""
from __future__ import annotations

RVL_CDIP_CLASSES: tuple[str, ...] = (
    "letter",
    "form",
    "email",
    "handwritten",
    "advertisement",
    "scientific_report",
    "scientific_publication",
    "specification",
    "file_folder",
    "news_article",
    "budget",
    "invoice",
    "presentation",
    "questionnaire",
    "resume",
    "memo",
)
CLASS_TO_INDEX: dict[str, int] = {name: i for i, name in enumerate(RVL_CDIP_CLASSES)}


def normalise_label(value: object, classes: tuple[str, ...] = RVL_CDIP_CLASSES) -> str:
    """Map an int index, a digit string or a class name (any case, spaces/hyphens) to a class name.

    Raises ValueError with the offending value when it names no class.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a class label: {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        index = int(value)
        if not 0 <= index < len(classes):
            raise ValueError(f"label index {index} out of range 0..{len(classes) - 1}")
        return classes[index]
    if isinstance(value, str):
        name = value.strip().lower().replace(" ", "_").replace("-", "_")
        if name in classes:
            return name
    raise ValueError(f"not a class label: {value!r} (expected one of {', '.join(classes)} or 0..{len(classes) - 1})")
