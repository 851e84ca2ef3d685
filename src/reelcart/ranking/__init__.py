"""The feed's ranking: taste from reactions, discovery picks, exclusions, diversity, reasons.

Every recommender, the feed's ``HybridRecommender`` and the baselines it is measured
against, implements one interface: ``Recommender``.
"""

from reelcart.ranking.base import Recommender
from reelcart.ranking.recommender import Recommender as HybridRecommender
from reelcart.ranking.signals import WEIGHTS, signal_weight

__all__ = ["WEIGHTS", "HybridRecommender", "Recommender", "signal_weight"]
