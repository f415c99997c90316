"""Named choices as enums: a member compares equal to, prints as and serialises as its value,
and ``parse`` turns user text into a member or an InputError listing the valid values."""

from __future__ import annotations

from enum import Enum

from codesign.errors import InputError


class Choice(str, Enum):
    """Base of every choice enum (a str, so JSON and CSV write the value)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def parse(cls, value: object, what: str):
        """The member whose value is ``value``; InputError naming the valid values."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(member.value for member in cls)
            raise InputError(f"unknown {what} {value!r}; use one of: {valid}") from None

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]
