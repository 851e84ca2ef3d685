"""The feed's ranking: taste from reactions, discovery picks, exclusions, diversity, reasons.

Every recommender, the feed's ``HybridRecommender`` and the baselines it is measured
against (``ranking.baselines``), implements one interface: ``Recommender``.
"""

from reelcart.ranking.base import Recommender
from reelcart.ranking.hybrid import HybridRecommender
from reelcart.ranking.shopper import MAX_CATEGORY_RUN
from reelcart.ranking.signals import WEIGHTS, signal_weight

__all__ = ["MAX_CATEGORY_RUN", "WEIGHTS", "HybridRecommender", "Recommender", "signal_weight"]
