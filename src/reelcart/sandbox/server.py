"""The HTTP face of the sandbox: a loopback stand-in for api.telegram.org.

A bot talks to it exactly as to Telegram::

    Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url)

Routes: ``/bot<token>/<method>`` (GET or POST; JSON, form-urlencoded, query string or
multipart) and ``/file/bot<token>/<file_path>`` for downloads. Everything else is 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web

from reelcart.sandbox import methods as _methods  # noqa: F401  (registers the handlers)
from reelcart.sandbox.dispatch import METHODS, Call, Described
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.faults import FaultInjector, FaultPlan, call_text, fault_target
from reelcart.sandbox.files import MAX_UPLOAD_BYTES, Upload
from reelcart.sandbox.limits import QueryDeadlines, SandboxLimits
from reelcart.sandbox.state import SandboxState
from reelcart.sandbox.updates import WebhookDelivery
from reelcart.sandbox.validation import (
    Params,
    canonical_name,
    load_models,
    method_model,
    prepare,
    validate,
)

logger = logging.getLogger(__name__)

_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
# Room for a 50 MB file plus the other fields of a non-streamed request.
_MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024


class SandboxServer:
    """A strict loopback Telegram Bot API server for one bot.

    ``limits=None`` switches flood control off (for throughput benchmarks).
    ``strict=False`` skips validating parameters against aiogram's models, which saves
    the seconds their import costs (the handlers' own Telegram checks still apply).
    ``faults`` makes a share of the bot's calls fail (see :mod:`reelcart.sandbox.faults`);
    switch them on and off at run time with ``server.faults.enabled``.
    Use as ``async with SandboxServer() as server:`` or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        *,
        limits: SandboxLimits | None = SandboxLimits(),  # noqa: B008  (frozen dataclass)
        deadlines: QueryDeadlines = QueryDeadlines(),  # noqa: B008
        webhook_backoff: tuple[float, float] = (0.05, 2.0),
        strict: bool = True,
        faults: FaultPlan | None = None,
    ) -> None:
        self.state = SandboxState(limits, deadlines)
        self.strict = strict
        self.faults = FaultInjector(faults) if faults is not None else FaultInjector()
        self._webhook_backoff = webhook_backoff
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: WebhookDelivery | None = None
        self._root_url: str | None = None

    # Addresses

    @property
    def token(self) -> str:
        """The only token this server accepts."""
        return self.state.token

    @property
    def bot_username(self) -> str:
        """The bot's @username (without the @)."""
        return self.state.bot_username

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if self._root_url is None:
            raise RuntimeError("the sandbox server is not started")
        return self._root_url

    @property
    def base_url(self) -> str:
        """``base_url`` for python-telegram-bot's ``Bot`` (token appended by the library)."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """``base_file_url`` for python-telegram-bot's ``Bot``."""
        return f"{self.root_url}/file/bot"

    # Lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one) and start webhook delivery."""
        if self._runner is not None:
            raise RuntimeError("the sandbox server is already started")
        self.state.updates.closed = False  # a stopped server may be started again
        if self.strict:
            # The model import takes seconds of CPU; keep it off the event loop.
            self.strict = await asyncio.to_thread(load_models)
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=_MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._root_url = f"http://{shown}:{bound_port}"
        low, high = self._webhook_backoff
        self._delivery = WebhookDelivery(
            self.state.updates,
            self._session,
            lambda: self.state.webhook,
            self._webhook_reply,
            min_backoff=low,
            max_backoff=high,
        )
        self._delivery.start()
        logger.info("sandbox Bot API listening on %s as @%s", self._root_url, self.bot_username)

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and close the listener."""
        self.state.updates.close()
        for query in list(self.state.queries.values()):
            self.state.forget_query(query)
        if self._delivery is not None:
            await self._delivery.stop()
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        logger.info("sandbox Bot API stopped")

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # In-process helpers

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again with the same ``update_id`` (duplicate delivery)."""
        self.state.updates.redeliver(update_id)

    @property
    def webhook_deliveries(self) -> int:
        """How many updates the webhook has acknowledged with 2xx."""
        return self._delivery.delivered if self._delivery is not None else 0

    async def call(self, method: str, **params: Any) -> Any:
        """Run a Bot API method in-process, as the bot would over HTTP (for tests/tools).

        Returns the ``result``; raises :class:`BotApiError` like the HTTP route answers.
        """
        result = await self.execute(method, params, {})
        return result.result if isinstance(result, Described) else result

    async def execute(self, method: str, raw: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        """Validate and run one Bot API call; raise :class:`BotApiError` on failure."""
        model = method_model(method) if self.strict else None
        spec = METHODS.get(method.lower())
        if model is None and spec is None:
            raise BotApiError.not_found()
        name = (canonical_name(method) if self.strict else None) or method
        if spec is None:
            raise BotApiError.bad_request(f"method {name} is not supported by the sandbox")
        params = prepare(model, raw, uploads)
        validated = validate(model, params) if model is not None else None
        call = Call(self.state, name, Params(params, validated), self._fetch)
        if spec.metered:
            wait = self.state.flood.acquire(_chat_key(call.params.get("chat_id")))
            if wait:
                raise BotApiError.too_many_requests(wait)
        return await spec.handler(call)

    # HTTP handlers

    def _check_token(self, token: str) -> None:
        if token == self.state.token:
            return
        if _TOKEN_SHAPE.fullmatch(token):
            raise BotApiError.unauthorized()
        raise BotApiError.not_found()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            self._check_token(request.match_info["token"])
            if method.lower() not in METHODS and (not self.strict or method_model(method) is None):
                raise BotApiError.not_found()
            raw, uploads = await _read_params(request)
        except BotApiError as exc:
            return _error_response(method, exc)
        except web.HTTPRequestEntityTooLarge:
            return _error_response(method, BotApiError(413, "Request Entity Too Large"))
        except Exception:
            logger.exception("sandbox failed while reading %s", method)
            return _error_response(method, BotApiError(500, "Internal Server Error"))

        async def answer() -> web.Response:
            return await self._answer(method, raw, uploads)

        fault = self.faults.draw(method, fault_target(raw, self._query_user), call_text(raw))
        if fault is None:
            return await answer()
        return await self.faults.respond(fault, request, answer)

    def _query_user(self, query_id: str) -> int | None:
        query = self.state.queries.get(query_id)
        return query.user_id if query is not None else None

    async def _answer(
        self, method: str, raw: dict[str, Any], uploads: dict[str, Upload]
    ) -> web.Response:
        """Carry one call out and build Telegram's response to it."""
        try:
            result = await self.execute(method, raw, uploads)
        except BotApiError as exc:
            return _error_response(method, exc)
        except Exception:
            logger.exception("sandbox failed while handling %s", method)
            return _error_response(method, BotApiError(500, "Internal Server Error"))
        body: dict[str, Any] = {"ok": True}
        if isinstance(result, Described):
            body["result"] = result.result
            body["description"] = result.description
        else:
            body["result"] = result
        logger.debug("%s -> ok", method)
        return web.json_response(body)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        try:
            self._check_token(request.match_info["token"])
        except BotApiError as exc:
            return web.json_response(exc.to_json(), status=exc.error_code)
        record = self.state.files.by_path(unquote(request.match_info["path"]))
        if record is None:
            return web.json_response(BotApiError.not_found().to_json(), status=404)
        return web.Response(
            body=record.data, content_type=record.mime_type or "application/octet-stream"
        )

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(BotApiError.not_found().to_json(), status=404)

    async def _webhook_reply(self, body: dict[str, Any]) -> None:
        method = str(body.pop("method"))
        await self.execute(method, body, {})

    async def _fetch(self, url: str, limit: int) -> tuple[bytes, str | None, str | None]:
        """Download a loopback URL given as an InputFile, as Telegram downloads URLs."""
        if self._session is None:
            raise BotApiError.bad_request("failed to get HTTP URL content")
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status != 200:
                    raise BotApiError.bad_request("failed to get HTTP URL content")
                data = await resp.content.read(limit + 1)
                if len(data) > limit:
                    raise BotApiError.bad_request("failed to get HTTP URL content")
                name = urlsplit(url).path.rsplit("/", 1)[-1] or None
                return data, resp.content_type, name
        except (aiohttp.ClientError, TimeoutError):
            raise BotApiError.bad_request("failed to get HTTP URL content") from None


def _error_response(method: str, error: BotApiError) -> web.Response:
    logger.debug("%s -> %s %s", method, error.error_code, error.description)
    return web.json_response(error.to_json(), status=error.error_code)


def _chat_key(chat_id: Any) -> int | None:
    """The chat a metered call goes to, for the per-chat flood bucket."""
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return None


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Collect parameters from the query string and the body, as Telegram accepts them."""
    raw: dict[str, Any] = dict(request.query.items())
    uploads: dict[str, Upload] = {}
    if not request.body_exists:
        return raw, uploads
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise BotApiError.bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise BotApiError.bad_request("can't parse JSON object")
        raw.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                continue
            if part.filename is not None:
                uploads[part.name] = Upload(
                    part.name,
                    part.filename,
                    part.headers.get(aiohttp.hdrs.CONTENT_TYPE, "application/octet-stream"),
                    await _read_part(part),
                )
            else:
                raw[part.name] = await part.text()
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        raw.update((key, value) for key, value in form.items() if isinstance(value, str))
    return raw, uploads


async def _read_part(part: aiohttp.BodyPartReader) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise BotApiError(413, "Request Entity Too Large")
        chunks.append(chunk)
    return b"".join(chunks)
