"""Secret redaction: the configured API key and the values of secret-looking environment
variables, masked as ``***`` wherever text leaves the process or is stored.

Pure: the caller passes the environment in. ``EventScrubber`` also masks a secret streamed
across several text deltas, by holding back a tail that could be the start of one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from collet_nb.core.events import Event, ReasoningDelta, TextDelta

MASK = "***"
# Shorter values are left alone: masking "ollama" or "1234" would mangle ordinary text.
MIN_SECRET_LENGTH = 8

# Name words that mark a secret (``OPENAI_API_KEY``, ``HF_TOKEN``, ``DB_PASS`` …); whole words
# only, so ``KEYBOARD_LAYOUT`` and ``PASSENGER_COUNT`` are not secrets.
SECRET_WORDS = frozenset(
    {
        "KEY",
        "APIKEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "AUTH",
        "CREDENTIAL",
        "CREDENTIALS",
        "PAT",
    }
)
# Word endings that mark a secret inside a compound word (``GHTOKEN``, ``CLIENTSECRET``).
SECRET_ENDINGS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY")
# A last word that says the value only points at or describes a secret (``SSH_AUTH_SOCK``,
# ``AWS_SHARED_CREDENTIALS_FILE``, ``TOKEN_URL``): not a secret itself.
NOT_SECRET_LAST_WORDS = frozenset(
    {
        "SOCK",
        "SOCKET",
        "PATH",
        "FILE",
        "DIR",
        "HOME",
        "URL",
        "URI",
        "HOST",
        "PORT",
        "USER",
        "USERNAME",
        "NAME",
        "TYPE",
        "MODE",
        "METHOD",
        "TIMEOUT",
        "REGION",
        "VERSION",
        "ENABLED",
        "LENGTH",
        "SIZE",
        "COUNT",
        "EXPIRY",
        "EXPIRES",
        "FORMAT",
        "PROVIDER",
    }
)

_WORD = re.compile(r"[A-Z0-9]+")
T = TypeVar("T")


def looks_secret(name: str) -> bool:
    """Whether an environment variable named ``name`` probably holds a secret."""
    words = _WORD.findall(name.upper())
    if not words or words[-1] in NOT_SECRET_LAST_WORDS:
        return False
    return any(w in SECRET_WORDS or w.endswith(SECRET_ENDINGS) for w in words)


@dataclass(frozen=True, kw_only=True)
class Redactor:
    """Masks known secret values in text and in JSON-like data.

    Attributes:
        secrets: the values to mask, longest first (never shown in the repr).
    """

    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def build(
        cls, *, keys: Iterable[str | None] = (), env: Mapping[str, str] | None = None
    ) -> Redactor:
        """A redactor for ``keys`` (API keys) and the secret-looking variables of ``env``.

        Values are stripped of surrounding blanks; those shorter than ``MIN_SECRET_LENGTH``
        are ignored.
        """
        found = {k.strip() for k in keys if k}
        found.update(v.strip() for n, v in (env or {}).items() if v and looks_secret(n))
        kept = sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        return cls(secrets=tuple(kept))

    def merged(self, other: Redactor) -> Redactor:
        """A redactor masking the secrets of both."""
        both = set(self.secrets) | set(other.secrets)
        return Redactor(secrets=tuple(sorted(both, key=len, reverse=True)))

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def data(self, value: T) -> T:
        """``value`` with every string inside (dict values, list and tuple items) redacted.

        Returns the very same object when nothing had to change.
        """
        if not self.secrets:
            return value
        return self._walk(value)  # type: ignore[no-any-return]  # same shape as value

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            items = {k: self._walk(v) for k, v in value.items()}
            return value if all(items[k] is value[k] for k in value) else items
        if isinstance(value, (list, tuple)):
            walked = [self._walk(v) for v in value]
            if all(a is b for a, b in zip(walked, value, strict=True)):
                return value
            return type(value)(walked) if isinstance(value, tuple) else walked
        return value

    def event(self, event: Event) -> Event:
        """``event`` with its text fields redacted (the same object when nothing changed)."""
        if not self.secrets:
            return event
        changes = {
            f.name: self.text(value)
            for f in dataclasses.fields(event)
            if isinstance(value := getattr(event, f.name), str) and self.text(value) != value
        }
        return dataclasses.replace(event, **changes) if changes else event

    def unfinished(self, text: str) -> int:
        """How many characters at the end of ``text`` could begin a secret (0 if none)."""
        longest = 0
        for secret in self.secrets:
            start = max(0, len(text) - len(secret) + 1)
            at = text.find(secret[0], start)
            while at != -1:
                if secret.startswith(text[at:]):
                    longest = max(longest, len(text) - at)
                    break
                at = text.find(secret[0], at + 1)
        return longest


_Delta = TextDelta | ReasoningDelta


class EventScrubber:
    """Redacts a stream of events, secrets split across text deltas included.

    A delta's tail that could be the start of a secret is held back and sent with the next
    delta of the same stream, or before the next other event of that message; so a secret is
    never shown in pieces, and no text is lost or reordered.

    Args:
        redactor: the secrets to mask (replace :attr:`redactor` when they change).
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()
        self._held: dict[tuple[str, type[_Delta]], str] = {}

    def scrub(self, event: Event) -> list[Event]:
        """The events to publish in place of ``event`` (none, it, or a flushed tail then it)."""
        if isinstance(event, (TextDelta, ReasoningDelta)):
            return self._delta(event)
        out: list[Event] = []
        for key in [k for k in self._held if k[0] == event.message_id]:
            kind = key[1]
            out.append(kind(message_id=key[0], text=self._held.pop(key)))
        out.append(self.redactor.event(event))
        return out

    def _delta(self, event: _Delta) -> list[Event]:
        key = (event.message_id, type(event))
        held = self._held.pop(key, "")
        if not held and not self.redactor:
            return [event]
        text = self.redactor.text(held + event.text)
        keep = self.redactor.unfinished(text)
        if keep:
            self._held[key] = text[-keep:]
            text = text[:-keep]
        if not text:
            return []
        return [event if text == event.text else dataclasses.replace(event, text=text)]
