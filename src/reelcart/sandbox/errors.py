"""Bot API errors as the sandbox reports them.

Telegram answers every failed call with ``{"ok": false, "error_code": N, "description": ...}``
and the matching HTTP status; client libraries pick the exception class from the status
(python-telegram-bot: 400 BadRequest, 401/404 InvalidToken, 403 Forbidden, 409 Conflict,
429 RetryAfter). Everything below the HTTP edge raises :class:`BotApiError` and the server
turns it into that JSON.
"""

from __future__ import annotations

from typing import Any

# Descriptions that are compared against in several places.
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
POLL_CONFLICT = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)


class BotApiError(Exception):
    """A failed Bot API call: HTTP status, Telegram's description and optional parameters.

    ``description`` is the full text Telegram sends, e.g. ``"Bad Request: chat not found"``.
    """

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """The response body Telegram would send for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    @classmethod
    def bad_request(cls, detail: str) -> BotApiError:
        """400 ``Bad Request: <detail>``."""
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def forbidden(cls, detail: str) -> BotApiError:
        """403 ``Forbidden: <detail>``."""
        return cls(403, f"Forbidden: {detail}")

    @classmethod
    def conflict(cls, detail: str) -> BotApiError:
        """409 ``Conflict: <detail>``."""
        return cls(409, f"Conflict: {detail}")

    @classmethod
    def too_many_requests(cls, retry_after: int) -> BotApiError:
        """429 with ``parameters.retry_after`` in whole seconds, as Telegram sends it."""
        return cls(
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )

    @classmethod
    def unauthorized(cls) -> BotApiError:
        """401, the answer to a token Telegram does not know."""
        return cls(401, "Unauthorized")

    @classmethod
    def not_found(cls) -> BotApiError:
        """404, the answer to an unknown method or a malformed token."""
        return cls(404, "Not Found")
