"""What each reaction is worth: the signal weights the feed learns from, in one place.

A reaction's weight multiplies its product's vector when it is added to the shopper's taste,
and adds to the product's popularity. The table (positive means "more like this"):

=====================================  ========  ==============================================
event                                  weight    why
=====================================  ========  ==============================================
buy                                    +1.5      money spent: the strongest evidence there is
like                                   +1.0      the explicit "more like this"; the unit
share                                  +0.8      shown to a friend: public endorsement
shop_click                             +0.6      intent, but a click is cheaper than a like
long dwell (>= the clip's length)      +0.3      watched it all; added to any non-negative
                                                 event (a skip after watching counts +0.3)
skip after a normal watch              0.0       moving on is what a feed is for
quick skip (< 1/3 of the clip, < 2 s)  -0.15     weak evidence: a glance, not a verdict
dislike ("not for me")                 -1.0      strong; the product is also excluded for
                                                 good and its near-duplicates pushed down
unlike                                 -1.0      takes back a like
impression                             0.0       neutral: showing is not a reaction
=====================================  ========  ==============================================

Clips without a known duration count as ``DEFAULT_CLIP_SECONDS`` long. A skip without a
dwell time is treated as quick: the service always measures dwell on swipes, so a missing
one means the shopper left without watching.

Recency: a shopper's taste fades *per event*, not per hour. Each reaction (every event but
impressions, which only say a card was shown) multiplies the weight of everything before it
by ``TASTE_DECAY``: a half-life of ``TASTE_HALF_LIFE_EVENTS`` reactions. Shoppers come in
sessions with long gaps; a clock-based decay would forget a returning shopper's taste
overnight, while a count-based one keeps their last session as their taste and lets a new
session take over as fast as they swipe.
"""

from __future__ import annotations

from reelcart.domain import EventKind

#: Base weight of each event kind (before the dwell adjustment).
WEIGHTS: dict[EventKind, float] = {
    EventKind.BUY: 1.5,
    EventKind.LIKE: 1.0,
    EventKind.SHARE: 0.8,
    EventKind.SHOP_CLICK: 0.6,
    EventKind.SKIP: 0.0,
    EventKind.DISLIKE: -1.0,
    EventKind.UNLIKE: -1.0,
    EventKind.IMPRESSION: 0.0,
}

#: Bonus for having watched at least ``LONG_DWELL_RATIO`` of the clip.
LONG_DWELL_BONUS = 0.3
LONG_DWELL_RATIO = 1.0
#: A skip before ``QUICK_SKIP_RATIO`` of the clip (and at most ``QUICK_SKIP_MAX_MS``) has
#: played is a quick skip: 10 s into a 60 s clip is not a glance.
QUICK_SKIP_WEIGHT = -0.15
QUICK_SKIP_RATIO = 1 / 3
QUICK_SKIP_MAX_MS = 2000
DEFAULT_CLIP_SECONDS = 3.0

#: Taste half-life, in reactions; ``TASTE_DECAY`` is the per-reaction factor.
TASTE_HALF_LIFE_EVENTS = 20
TASTE_DECAY = 0.5 ** (1 / TASTE_HALF_LIFE_EVENTS)

#: A disliked product pushes down products whose cosine to it exceeds the floor, by up to
#: the penalty (reached at cosine 1). "Not for me" is strong evidence: with
#: all-MiniLM-L6-v2's product vectors the floor lies between other categories' cosines and
#: one category's own, so the rest of its category loses about a quarter of the penalty, a
#: near-copy such as a colour variant three quarters, and other categories nothing.
DISLIKE_NEIGHBOUR_FLOOR = 0.45
DISLIKE_NEIGHBOUR_PENALTY = 2.0
#: How many recent dislikes take part in that push (older ones stay excluded, nothing more).
DISLIKE_MEMORY = 32

#: Fatigue: each of the last ``SKIP_MEMORY`` quick skips pushes products near it down by up
#: to this much (same floor as dislikes), and pushes add up. One glance costs a category
#: little (about 0.14 at the category's typical cosine); four quick skips in one area move
#: the feed elsewhere, which is how it follows a change of taste (``reelcart simulate``)
#: before the taste vector has turned (chosen with ``reelcart simulate``).
SKIP_NEIGHBOUR_PENALTY = 0.5
SKIP_MEMORY = 10

#: A pass (a quick skip or "not for me") also takes back this share of each positive near
#: it, scaled as the dislike penalty is (a quarter for the rest of its category): out of
#: the taste and out of the weights the collaborative side gives it. Liking a category
#: and then skipping it is how a shopper says their taste moved on.
RETRACT_SHARE = 0.5

#: Exploration grows while a shopper passes on card after card: after ``MISS_GRACE``
#: passes in a row without a positive one, each further one adds ``EXPLORE_STEP`` to the
#: discovery rate, up to ``MAX_EXPLORE_RATE``. A positive reaction resets it. Only passes
#: count (a quick skip, "not for me"): skipping a card after watching it is what a
#: favourite gets now and then, and neither extends nor breaks the streak.
MISS_GRACE = 1
EXPLORE_STEP = 0.25
MAX_EXPLORE_RATE = 0.8
#: Past the grace, each further pass also fades the shopper's past (taste and the weights
#: of their positives) by this factor, so that the next like, wherever the exploration
#: finds it, outweighs a taste that no longer holds. Steady shoppers rarely pass twice in
#: a row; one whose taste changed does at once.
STREAK_DECAY = 0.25

#: When a run of one category (or merchant) must be broken, the next card follows the
#: shopper's positives outside it, if they weigh at least this much (half a like, after
#: recency); otherwise it is a discovery card, since the nearest products of another
#: category to a one-category taste are near it by chance.
APART_MIN = 0.5

#: Categories passed on. A category the shopper passed on (a quick skip, "not for me")
#: ``PASS_STRIKES`` times in a row, or once on a losing streak, sits out of personal picks
#: while other categories can be offered, until a positive reaction in it or for this
#: many reactions; discovery leaves a category out after a single pass, for this many
#: reactions or until the shopper's next positive reaction if that comes later, so that a
#: lost shopper is shown categories not tried yet, a sweep rather than a random walk
#: (chosen with ``reelcart simulate``; the memory's length matters little).
PASS_MEMORY = 30
#: ... but personal picks only set a category aside after this many passes in a row on it
#: (or one, on a losing streak: ``MISS_GRACE``): a fan of a category who quick-skips one
#: of its products between likes keeps seeing the others.
PASS_STRIKES = 2

#: Popularity is the mean signal per impression, shrunk toward zero as if every product had
#: this many extra neutral impressions, so one lucky like does not top the chart.
POPULARITY_PRIOR_IMPRESSIONS = 5.0

#: Kinds that say something about the shopper's taste (impressions only mark "seen").
POSITIVE_KINDS = frozenset({EventKind.LIKE, EventKind.SHARE, EventKind.SHOP_CLICK, EventKind.BUY})


def signal_weight(
    kind: EventKind, dwell_ms: int | None = None, clip_seconds: float | None = None
) -> float:
    """The weight of one reaction, per the table in this module's docstring."""
    weight = WEIGHTS[kind]
    if kind is EventKind.IMPRESSION:
        return 0.0
    clip_ms = 1000.0 * (clip_seconds if clip_seconds and clip_seconds > 0 else DEFAULT_CLIP_SECONDS)
    if kind is EventKind.SKIP and (
        dwell_ms is None or dwell_ms < min(QUICK_SKIP_RATIO * clip_ms, QUICK_SKIP_MAX_MS)
    ):
        return QUICK_SKIP_WEIGHT
    watched = None if dwell_ms is None else dwell_ms / clip_ms
    if weight >= 0 and watched is not None and watched >= LONG_DWELL_RATIO:
        weight += LONG_DWELL_BONUS
    return weight


def popularity(signal_sum: float, impressions: int) -> float:
    """A product's smoothed mean signal per impression (0 for a product never shown)."""
    return signal_sum / (impressions + POPULARITY_PRIOR_IMPRESSIONS)


# -- blending the signals into one score -------------------------------------------------
#
# A personal pick scores each candidate as
#
#     W_CONTENT * cosine(taste, product)                   content: the taste vector
#   + W_COLLAB  * collaborative / agreement norm            people who liked what you liked
#   - dislike-neighbour penalty                             "not for me" pushes similar down
#   - fatigue penalty near recent quick skips
#
# The collaborative score is divided by what it would be if ``COLLAB_AGREEMENT`` of the
# shopper's (decayed) positives pointed to the product with a typical strong weight, so a
# product one stray co-like points to scores little and one most positives agree on about 1.
# Where nobody has co-engaged yet it is zero and content alone decides. The weights were
# chosen on MovieLens-100k, protocol A (``reelcart eval movielens``), where the content
# weight matters little, and with ``reelcart simulate`` (synthetic shoppers,
# content-driven), which the agreement norm improved.

#: Weight of the content similarity (cosine of unit vectors, so in [-1, 1]).
W_CONTENT = 0.5
#: Weight of the normalised collaborative score (about 1 when all positives agree).
W_COLLAB = 1.0
#: The share of a shopper's positives that must point to a product, with a typical strong
#: weight, for its collaborative score to reach 1.
COLLAB_AGREEMENT = 0.5

#: Recency for the collaborative side: a positive's weight halves every this many reactions.
#: Longer than the taste's half-life: "people who liked X" stays informative for longer
#: than the direction of the last few swipes, and this long a half-life costs MovieLens-100k
#: (a random split, where recency cannot help) next to nothing.
CF_HALF_LIFE_EVENTS = 200
CF_DECAY = 0.5 ** (1 / CF_HALF_LIFE_EVENTS)

#: The weight an engagement adds to the co-engagement log (the collaborative model's input):
#: positives as in ``WEIGHTS``; an unlike takes a like back; "not for me" clears the cell.
COLLAB_TAKE_BACK = {EventKind.UNLIKE: -1.0, EventKind.DISLIKE: -2.0}

# -- discovery ---------------------------------------------------------------------------
#
# A discovery pick is drawn by Thompson sampling among the least shown products: each
# product's like-rate has a Beta(DISCOVERY_PRIOR_LIKES + likes, DISCOVERY_PRIOR_MISSES +
# impressions - likes) posterior; one draw per candidate, the highest wins. Unshown
# products have the widest posteriors and win often; a product that collected likes keeps
# winning until it is well exposed, one that collected only skips drops out.

DISCOVERY_PRIOR_LIKES = 1.0
DISCOVERY_PRIOR_MISSES = 1.0
#: Discovery draws lose this many times the fatigue penalty (``SKIP_NEIGHBOUR_PENALTY``)
#: of their area, and the dislike penalty of theirs: a pool product next to the last quick
#: skips or a "not for me" rarely wins, so a shopper the feed has lost is shown areas not
#: tried yet. The product of the two factors (1.0 per skip at cosine 1) was chosen with
#: ``reelcart simulate``.
DISCOVERY_FATIGUE = 2.0
