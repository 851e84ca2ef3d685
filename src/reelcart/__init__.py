"""reelcart: a Telegram shopping bot built like a short-video feed."""

__version__ = "0.1.0"
