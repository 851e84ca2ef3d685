"""The feed's ranking: taste from reactions, discovery picks, exclusions, diversity, reasons."""

from reelcart.ranking.recommender import Recommender
from reelcart.ranking.signals import WEIGHTS, signal_weight

__all__ = ["WEIGHTS", "Recommender", "signal_weight"]
