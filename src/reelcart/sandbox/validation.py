"""Request parameters checked against aiogram's models of every Bot API method.

aiogram (a dev dependency) ships a pydantic model per Bot API method, kept in step with
the API. The sandbox maps the method name to its model case-insensitively, as Telegram
does, decodes JSON-encoded nested objects the way Telegram does for form and multipart
requests, wires uploaded file parts in (directly in a field or through ``attach://``),
and validates. Unknown methods are 404; invalid parameters are 400 with a description
naming the parameter.

Importing aiogram's types costs seconds (pydantic builds every schema), so it happens on
first use, which :meth:`SandboxServer.start` triggers off the event loop.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.files import Upload

logger = logging.getLogger(__name__)

# Without aiogram's models these parameters are known to carry JSON or files.
_FALLBACK_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "prices",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "shipping_options",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "button",
        "message_ids",
        "suggested_tip_amounts",
    }
)
_FALLBACK_FILE_FIELDS = frozenset({"photo", "video", "animation", "document", "thumbnail", "cover"})

_TYPE_TAGS = frozenset({"int", "str", "bool", "float", "list", "dict", "none"})


@dataclass(frozen=True)
class _Aiogram:
    """The few aiogram names the sandbox needs, imported together on first use."""

    methods: dict[str, type[BaseModel]]
    default: type
    input_file: type
    buffered_input_file: Any


@cache
def _aiogram() -> _Aiogram | None:
    # aiogram is a dev dependency; without it only the handlers' own checks apply.
    try:
        methods_module = importlib.import_module("aiogram.methods")
        base = importlib.import_module("aiogram.methods.base")
        default = importlib.import_module("aiogram.client.default")
        aiogram_types = importlib.import_module("aiogram.types")
    except ImportError:
        logger.warning("aiogram is not installed: Bot API parameters are not model-validated")
        return None
    models: dict[str, type[BaseModel]] = {}
    for _, obj in inspect.getmembers(methods_module, inspect.isclass):
        if issubclass(obj, base.TelegramMethod) and obj is not base.TelegramMethod:
            api_name = getattr(obj, "__api_method__", None)
            if isinstance(api_name, str):
                models[api_name.lower()] = typing.cast(type[BaseModel], obj)
    return _Aiogram(
        models, default.Default, aiogram_types.InputFile, aiogram_types.BufferedInputFile
    )


def load_models() -> bool:
    """Import aiogram's method models now (slow); True if they are available."""
    return _aiogram() is not None


def _models() -> dict[str, type[BaseModel]]:
    library = _aiogram()
    return library.methods if library is not None else {}


def method_model(name: str) -> type[BaseModel] | None:
    """The aiogram model of a Bot API method, by case-insensitive name."""
    return _models().get(name.lower())


def canonical_name(name: str) -> str | None:
    """The Bot API's spelling of a method name (``sendmessage`` -> ``sendMessage``)."""
    model = method_model(name)
    return getattr(model, "__api_method__", None) if model is not None else None


def _flatten(annotation: Any) -> list[Any]:
    """Members of Optional/Union/Annotated layers, without looking inside containers."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        members: list[Any] = []
        for arg in typing.get_args(annotation):
            members.extend(_flatten(arg))
        return members
    return [annotation]


@cache
def _text_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields whose value may legitimately be a plain string (never JSON-decoded)."""
    return frozenset(
        name for name, info in model.model_fields.items() if str in _flatten(info.annotation)
    )


@cache
def _file_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields that take an InputFile (an upload, a file_id or a URL)."""
    library = _aiogram()
    input_file = library.input_file if library is not None else None
    return frozenset(
        name for name, info in model.model_fields.items() if input_file in _flatten(info.annotation)
    )


def prepare(
    model: type[BaseModel] | None, raw: dict[str, Any], uploads: dict[str, Upload]
) -> dict[str, Any]:
    """Normalise raw request values into the shapes the Bot API means.

    Form and multipart values are strings; nested objects arrive JSON-encoded and are
    decoded here. Uploaded parts named like a parameter become that parameter; parts
    referenced as ``attach://<name>`` replace the reference.
    """
    params: dict[str, Any] = {}
    if model is None:
        json_fields, file_fields = _FALLBACK_JSON_FIELDS, _FALLBACK_FILE_FIELDS
    else:
        text_fields = _text_fields(model)
        json_fields = frozenset(name for name in model.model_fields if name not in text_fields)
        file_fields = _file_fields(model)
    for name, value in raw.items():
        if isinstance(value, str) and name in json_fields:
            stripped = value.strip()
            if stripped.startswith(("{", "[")):
                try:
                    value = json.loads(stripped)
                except ValueError:
                    raise BotApiError.bad_request(f"can't parse {name} JSON object") from None
        params[name] = value
    for name, upload in uploads.items():
        if name in file_fields and name not in params:
            params[name] = upload
    # attach:// works for top-level file fields too: aiogram always uploads that way.
    return {
        name: _attach(value, uploads)
        if name in file_fields or isinstance(value, dict | list)
        else value
        for name, value in params.items()
    }


def _attach(value: Any, uploads: dict[str, Upload]) -> Any:
    if isinstance(value, str):
        if value.startswith("attach://"):
            upload = uploads.get(value[len("attach://") :])
            if upload is None:
                raise BotApiError.bad_request(f'file "{value}" was not found in the request')
            return upload
        return value
    if isinstance(value, dict):
        return {key: _attach(item, uploads) for key, item in value.items()}
    if isinstance(value, list):
        return [_attach(item, uploads) for item in value]
    return value


def _for_model(value: Any) -> Any:
    """Uploads become aiogram InputFiles so the models accept them."""
    if isinstance(value, Upload):
        library = _aiogram()
        assert library is not None  # only called when a model exists
        return library.buffered_input_file(value.data, value.filename)
    if isinstance(value, dict):
        return {key: _for_model(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_for_model(item) for item in value]
    return value


def validate(model: type[BaseModel], params: dict[str, Any]) -> BaseModel:
    """Validate ``params`` against ``model``; raise 400 with a Telegram-like description."""
    try:
        return model.model_validate(_for_model(params))
    except ValidationError as exc:
        raise describe(exc) from None


def _path(loc: tuple[int | str, ...]) -> list[str]:
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(str(part))
        elif part.lower() in _TYPE_TAGS or part[:1].isupper() or "[" in part or "-" in part:
            continue  # a union member or validator tag, not a field
        else:
            parts.append(part)
    return parts


def describe(exc: ValidationError) -> BotApiError:
    """Turn the most specific pydantic error into a 400 Bad Request."""
    errors = exc.errors()
    error = max(errors, key=lambda e: len(_path(e["loc"])))
    path = _path(error["loc"]) or [str(error["loc"][0])]
    name = path[0]
    if error["type"] == "missing" and len(path) == 1:
        if name == "text":
            return BotApiError.bad_request("message text is empty")
        return BotApiError.bad_request(f'parameter "{name}" is required')
    if len(path) == 1:
        return BotApiError.bad_request(f"invalid {name} specified: {error['msg']}")
    inner = ".".join(path[1:])
    if error["type"] == "missing":
        return BotApiError.bad_request(f'can\'t parse {name}: field "{inner}" must be specified')
    return BotApiError.bad_request(f'can\'t parse {name}: field "{inner}": {error["msg"]}')


def _scalar(name: str, value: Any, kind: type) -> Any:
    """Convert a raw value the way pydantic's lax mode would (fallback without models)."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", ""):
            return False
    else:
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    raise BotApiError.bad_request(f"invalid {name} specified")


def _is_default(value: Any) -> bool:
    """aiogram's placeholder for "use the bot's default" (e.g. parse_mode)."""
    library = _aiogram()
    return library is not None and isinstance(value, library.default)


class Params:
    """Validated parameters of one call: typed scalars from the model, nested JSON raw."""

    def __init__(self, raw: dict[str, Any], model: BaseModel | None) -> None:
        self.raw = raw
        self.model = model

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        """The validated value (int, bool, str...) or ``default`` when absent."""
        if self.model is not None and name in type(self.model).model_fields:
            value = getattr(self.model, name, None)
        else:
            value = self.raw.get(name)
        if value is None or (self.model is not None and _is_default(value)):
            return default
        return value

    def json(self, name: str) -> Any:
        """A nested parameter as decoded JSON (dicts/lists), uploads left in place."""
        return self.raw.get(name)

    def text(self, name: str, default: str = "") -> str:
        """A string parameter."""
        value = self.get(name)
        return default if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter."""
        value = self.get(name)
        return default if value is None else int(_scalar(name, value, int))

    def required_int(self, name: str) -> int:
        """An integer parameter that must be present."""
        value = self.integer(name)
        if value is None:
            raise BotApiError.bad_request(f'parameter "{name}" is required')
        return value

    def flag(self, name: str) -> bool:
        """A boolean parameter, false when absent."""
        value = self.get(name)
        return False if value is None else bool(_scalar(name, value, bool))
