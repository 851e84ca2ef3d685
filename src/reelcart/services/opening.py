"""Opening the shop for a command (``reelcart run``, ``reelcart import``), with the one
failure an operator causes and can fix said plainly: a model that cannot be loaded."""

from __future__ import annotations

from reelcart.config import ConfigError, Settings
from reelcart.embeddings.encoder import Encoder, load_encoder
from reelcart.services.shop import Shop


def load_model(settings: Settings) -> Encoder:
    """The sentence model of ``REELCART_MODEL`` (the packaged one by default). Blocking.

    Raises ConfigError naming REELCART_MODEL when it cannot be loaded (not on disk, not a
    sentence-transformers model); nothing is ever downloaded.
    """
    try:
        return load_encoder(settings.model)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        reason = lines[0][:200]
        raise ConfigError(
            f"REELCART_MODEL: cannot load the model {settings.model!r} ({reason}); give a "
            "folder holding a sentence-transformers model, or leave it unset"
        ) from None


def open_shop(settings: Settings) -> Shop:
    """``Shop.open`` with the model loaded first. Blocking. Raises ConfigError as
    ``load_model`` does."""
    return Shop.open(settings, encoder=load_model(settings))
