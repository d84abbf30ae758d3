"""Block Kit checks the Slack stand-in applies, so tests catch messages and views Slack would refuse.

Deliberately light: the documented limits our messages can hit (counts, lengths, required fields), with
problems worded the way Slack words them in `response_metadata.messages`. Not a full Block Kit schema.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

BLOCK_TYPES = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "input",
        "header",
        "file",
        "rich_text",
        "video",
        "markdown",
        "call",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})

# (block type, field) -> the longest text Slack accepts there.
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
MARKDOWN_TEXT = 12000
BLOCK_ID = 255
ACTION_ID = 255
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
LABEL = 2000
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255


def _too_long(limit: int, pointer: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _missing(name: str, pointer: str) -> str:
    return f"[ERROR] missing required field: {name} [json-pointer:{pointer}]"


def _check_str(value: Any, limit: int, pointer: str, problems: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        problems.append(f"[ERROR] expected string [json-pointer:{pointer}]")
    elif len(value) > limit:
        problems.append(_too_long(limit, pointer))


def _check_text(obj: Any, limit: int, pointer: str, problems: list[str], *, plain_only: bool = False) -> None:
    """A composition text object: {"type": "plain_text"|"mrkdwn", "text": "1..limit chars"}."""
    if not isinstance(obj, dict):
        problems.append(f"[ERROR] expected object [json-pointer:{pointer}]")
        return
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if obj.get("type") not in allowed:
        problems.append(f"[ERROR] must be one of {sorted(allowed)} [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        problems.append(_too_long(limit, f"{pointer}/text"))


def _check_element(element: Any, pointer: str, problems: list[str]) -> None:
    """An interactive element (button, select, ...): the ids and values the bot relies on."""
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        problems.append(_missing("type", pointer))
        return
    _check_str(element.get("action_id"), ACTION_ID, f"{pointer}/action_id", problems)
    if element["type"] == "button":
        _check_text(element.get("text"), BUTTON_TEXT, f"{pointer}/text", problems, plain_only=True)
        _check_str(element.get("value"), BUTTON_VALUE, f"{pointer}/value", problems)
        _check_str(element.get("url"), URL, f"{pointer}/url", problems)
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"[ERROR] must be one of ['danger', 'primary'] [json-pointer:{pointer}/style]")


def _check_list(value: Any, limit: int, pointer: str, problems: list[str]) -> list[Any]:
    if not isinstance(value, list):
        problems.append(f"[ERROR] expected array [json-pointer:{pointer}]")
        return []
    if len(value) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    return value


def _check_block(block: Any, pointer: str, problems: list[str]) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        problems.append(_missing("type", pointer))
        return
    kind = block["type"]
    if kind not in BLOCK_TYPES:
        problems.append(f"[ERROR] unsupported type: {kind} [json-pointer:{pointer}/type]")
        return
    _check_str(block.get("block_id"), BLOCK_ID, f"{pointer}/block_id", problems)
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(_missing("text", pointer))
        if "text" in block:
            _check_text(block["text"], SECTION_TEXT, f"{pointer}/text", problems)
        if "fields" in block:
            for i, item in enumerate(
                _check_list(block["fields"], SECTION_FIELDS, f"{pointer}/fields", problems)
            ):
                _check_text(item, SECTION_FIELD, f"{pointer}/fields/{i}", problems)
        if "accessory" in block:
            _check_element(block["accessory"], f"{pointer}/accessory", problems)
    elif kind == "header":
        _check_text(block.get("text"), HEADER_TEXT, f"{pointer}/text", problems, plain_only=True)
    elif kind == "actions":
        for i, item in enumerate(
            _check_list(block.get("elements"), ACTIONS_ELEMENTS, f"{pointer}/elements", problems)
        ):
            _check_element(item, f"{pointer}/elements/{i}", problems)
    elif kind == "context":
        for i, item in enumerate(
            _check_list(block.get("elements"), CONTEXT_ELEMENTS, f"{pointer}/elements", problems)
        ):
            if not (isinstance(item, dict) and item.get("type") == "image"):
                _check_text(item, SECTION_TEXT, f"{pointer}/elements/{i}", problems)
    elif kind == "markdown":
        _check_str(block.get("text"), MARKDOWN_TEXT, f"{pointer}/text", problems)
    elif kind == "input":
        _check_text(block.get("label"), LABEL, f"{pointer}/label", problems, plain_only=True)
        _check_element(block.get("element"), f"{pointer}/element", problems)
    elif kind == "image":
        _check_str(block.get("image_url"), URL, f"{pointer}/image_url", problems)


def block_problems(blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks") -> list[str]:
    """Why Slack would refuse these blocks (empty when it would take them)."""
    problems: list[str] = []
    for i, block in enumerate(_check_list(blocks, limit, pointer, problems)):
        _check_block(block, f"{pointer}/{i}", problems)
    return problems


def view_problems(view: Any) -> list[str]:
    """Why Slack would refuse this modal or Home tab view (empty when it would take it)."""
    if not isinstance(view, dict):
        return ["[ERROR] expected object [json-pointer:/view]"]
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("[ERROR] must be one of ['home', 'modal'] [json-pointer:/view/type]")
    if kind == "modal":
        _check_text(view.get("title"), VIEW_TITLE, "/view/title", problems, plain_only=True)
        for name in ("submit", "close"):
            if name in view:
                _check_text(view[name], VIEW_TITLE, f"/view/{name}", problems, plain_only=True)
    _check_str(view.get("private_metadata"), PRIVATE_METADATA, "/view/private_metadata", problems)
    _check_str(view.get("callback_id"), CALLBACK_ID, "/view/callback_id", problems)
    problems += block_problems(view.get("blocks"), limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    return problems
