"""A strict loopback stand-in for api.telegram.org, and simulated users that talk to it.

The sandbox is the only Telegram the tests and the demo meet::

    async with SandboxServer() as server:
        bot = telegram.Bot(server.token, base_url=server.base_url,
                           base_file_url=server.base_file_url)
        shopper = SimulatedUser(server, 1001, "Alice")
        await shopper.send_command("start")
        reply = await shopper.wait_for()

Deviations from Telegram (everything else aims to match Bot API 9.x exactly):

* Webhooks: Telegram requires HTTPS on ports 443/80/88/8443; loopback URLs may also be
  plain HTTP on any port, and only loopback URLs are accepted at all. Updates are
  delivered one at a time, in order (``max_connections`` is stored, not used).
* Only private chats with simulated users exist (no groups, channels or topics); a chat
  exists once the user has written to the bot, as on Telegram.
* InputFile URLs are fetched only from loopback hosts; others fail with
  ``failed to get HTTP URL content``. Photos get one ``PhotoSize`` (no thumbnails), and
  uploads identical in bytes and kind share one file_id.
* Parameter validation comes from aiogram's models and is stricter than Telegram in one
  way: a value Telegram would silently coerce (``message_id=abc`` -> 0) is a 400 naming
  the parameter. Those descriptions, and a few for rare payment/inline errors, are the
  sandbox's own wording; the common errors use Telegram's exact text.
* Flood limits are explicit token buckets (:class:`SandboxLimits`), Telegram's are not
  published; ``limits=None`` turns them off.
* Faults happen only when asked for: ``SandboxServer(faults=FaultPlan(...))`` makes a
  seeded share of calls answer 429, 500 or 502, answer too late, or drop the connection
  before or after carrying the call out (:mod:`reelcart.sandbox.faults`).
* Methods outside the implemented set answer 400 ``method X is not supported by the
  sandbox`` rather than pretending to work.
"""

from reelcart.sandbox.client import SimulatedUser
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.faults import FaultInjector, FaultKind, FaultPlan
from reelcart.sandbox.limits import QueryDeadlines, SandboxLimits
from reelcart.sandbox.server import SandboxServer
from reelcart.sandbox.views import BotMessage, CallbackAnswer, InlineAnswer, PaymentResult

__all__ = [
    "BotApiError",
    "BotMessage",
    "CallbackAnswer",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "InlineAnswer",
    "PaymentResult",
    "QueryDeadlines",
    "SandboxLimits",
    "SandboxServer",
    "SimulatedUser",
]
