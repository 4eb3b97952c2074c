"""The one exception type every schemagate check raises.

Its message is a single line that says what went wrong and what to fix; modules
hand it to ``fail_json`` unchanged, scripts print it, nobody prints a traceback.
"""
from __future__ import annotations

from typing import Any, Dict, Optional


class SchemagateError(Exception):
    """A failure the user can act on, with optional structured details."""

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(" ".join(message.split()))
        self.details: Dict[str, Any] = dict(details or {})

    @property
    def message(self) -> str:
        return str(self)
