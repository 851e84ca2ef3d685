"""Offline evaluation of the ranking: MovieLens-100k (``movielens``) and simulated shoppers
(``simulate``). Both drive the real ``HybridRecommender``, not a copy of its scoring."""
