"""The frame of the config models: a TOML table as a pydantic model, and value checks.

`Table` reads a whole table: the errors of its values, the rules that involve several
of its keys (`Table.rules`) and its unknown keys are all reported together, each at
its key; nested tables report theirs the same way, so one validation lists every
problem of the file. `Check(convert)` attaches a converter of `values.py` to a key;
its `Invalid` becomes the key's problem, the "what is wrong" half of a sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

import service.config.values as v
from parsers.text import did_you_mean

Loc = tuple[str | int, ...]


def path_of(loc: Loc) -> str:
    """A key path as written in problems: ("units", 3, "senders", 1) is units[3].senders[1]."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def problem(text: str) -> PydanticCustomError:
    """A pydantic error carrying one "what is wrong" text (braces in it are kept as written)."""
    return PydanticCustomError("config", "{problem}", {"problem": text})


def context_of(info: ValidationInfo) -> v.Context:
    if not isinstance(info.context, v.Context):
        raise TypeError("validate the config models with context=values.Context(...)")
    return info.context


def Check(convert: Callable[[Any], Any]) -> PlainValidator:  # noqa: N802 (reads as a type marker)
    """The value converted by `convert(value)`; its `Invalid` is the key's problem."""

    def validate(value: Any) -> Any:
        try:
            return convert(value)
        except v.Invalid as e:
            raise problem(str(e)) from None

    return PlainValidator(validate)


def CheckIn(convert: Callable[[Any, ValidationInfo], Any]) -> PlainValidator:  # noqa: N802
    """As `Check`, for a converter that needs the context or the keys validated before it."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        try:
            return convert(value, info)
        except v.Invalid as e:
            raise problem(str(e)) from None

    return PlainValidator(validate)


def array(*, nonempty: bool = False) -> BeforeValidator:
    def validate(value: Any) -> Any:
        if not isinstance(value, list | tuple):  # a tuple: a default, never TOML
            raise problem(f"expected an array, got {v.toml_type(value)}")
        if nonempty and not value:
            raise problem("must list at least one value")
        return value

    return BeforeValidator(validate)


def unique(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))  # duplicates dropped, order kept


def _section(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, dict):
        raise problem(f"expected a table [{info.field_name}], got {v.toml_type(value)}")
    return value


def tables(required: bool) -> BeforeValidator:
    def validate(value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list | tuple):  # a tuple: a default, never TOML
            raise problem(f"expected an array of tables [[{info.field_name}]], got {v.toml_type(value)}")
        if required and not value:
            raise problem(f"at least one [[{info.field_name}]] entry is required")
        return value

    return BeforeValidator(validate)


Section = BeforeValidator(_section)
Text = Annotated[str, Check(v.plain_text)]
Email = Annotated[str, Check(v.email)]
# Arrays are converted item by item (an item's problem names its index), duplicates dropped.
Texts = Annotated[tuple[Text, ...], array(), AfterValidator(unique)]
Emails = Annotated[tuple[Email, ...], array(), AfterValidator(unique)]
Recipients = Annotated[tuple[Email, ...], array(nonempty=True), AfterValidator(unique)]
Senders = Annotated[tuple[Annotated[str, Check(v.sender)], ...], array(nonempty=True), AfterValidator(unique)]
Weekdays = Annotated[tuple[Annotated[int, Check(v.weekday)], ...], array(nonempty=True), AfterValidator(unique)]
Dates = Annotated[tuple[Annotated[dt.date, Check(v.date)], ...], array(), AfterValidator(unique)]
Times = Annotated[tuple[Annotated[dt.time, Check(v.time)], ...], array(), AfterValidator(unique)]


def _reraised(error: Mapping[str, Any]) -> InitErrorDetails:
    """An error of a nested validation, kept with its location and message.

    The value is dropped (here and for unknown keys): it may be a password written
    where none belongs, and a problem never echoes more than its converter chose to.
    """
    text = "required key is missing" if error["type"] == "missing" else error["msg"]
    return InitErrorDetails(type=problem(text), loc=tuple(error["loc"]), input=None)


class Table(BaseModel):
    """One TOML table: its keys are the fields; any other key is reported as unknown."""

    model_config = ConfigDict(frozen=True, extra="ignore", arbitrary_types_allowed=True)
    noun: ClassVar[str] = "key"  # what an unknown name in it is called

    @model_validator(mode="wrap")
    @classmethod
    def _whole_table(cls, data: Any, handler: Callable[[Any], Table], info: ValidationInfo) -> Table:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise problem(f"expected a table, got {v.toml_type(data)}")
        fields = cls.model_fields
        errors: list[InitErrorDetails] = []
        model = None
        try:
            model = handler({key: value for key, value in data.items() if key in fields})
        except ValidationError as e:
            errors.extend(_reraised(error) for error in e.errors(include_url=False))
        errors.extend(InitErrorDetails(type=problem(text), loc=loc, input=None) for loc, text in cls.rules(data, info))
        suggestions = [name for name in fields if name != "password"]  # never steer towards a plain password
        errors.extend(
            InitErrorDetails(
                type=problem(f"unknown {cls.noun}{did_you_mean(key, suggestions)}"), loc=(key,), input=None
            )
            for key in data
            if key not in fields
        )
        if errors or model is None:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return model

    @classmethod
    def rules(cls, data: Mapping[str, Any], info: ValidationInfo) -> Iterator[tuple[Loc, str]]:
        """Problems of the table as written that involve several keys (none by default)."""
        return iter(())
