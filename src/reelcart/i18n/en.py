"""English texts."""

MESSAGES: dict[str, str] = {
    # onboarding
    "start.hello": (
        "Hi {name}! 👋 I'm <b>reelcart</b>: swipe short product clips, and the feed learns "
        "what you love with every tap.\n\nWhat are you into? Pick a few, then tap "
        "<b>Start swiping</b>."
    ),
    "start.welcome_back": "Welcome back, {name}! Send /feed to keep swiping.",
    "start.interest_added": "Added: {interest}",
    "start.interest_removed": "Removed: {interest}",
    "start.done_button": "▶️ Start swiping",
    "start.skip_button": "Surprise me",
    "start.lang_button": "🇫🇷 Français",
    "start.no_products": "The shop is still empty: come back soon!",
    # feed
    "feed.empty": "You've seen everything for now. New products arrive often: try /feed later.",
    "feed.card_caption": "<b>{title}</b>\n{price} · {merchant}\n{hashtags}",
    "feed.sold_out": "Sold out",
    "feed.btn_like": "❤️ Like",
    "feed.btn_dislike": "👎 Not for me",
    "feed.btn_next": "⏭ Next",
    "feed.btn_buy": "🛒 Buy",
    "feed.btn_shop": "🔗 Shop",
    "feed.btn_why": "💡 Why this?",
    "feed.btn_share": "↗️ Share",
    "feed.liked": "❤️ Saved to your likes",
    "feed.disliked": "👎 Got it: fewer like this",
    "feed.skipped": "⏭",
    "feed.stale": "This card is from earlier. Send /feed for a fresh one.",
    "feed.already": "Already noted 👍",
    "feed.not_yours": "This button isn't for you.",
    "feed.card_unavailable": "This product is no longer available.",
    # why this
    "why.similar_to_liked": "💡 Because you liked “{title}”.",
    "why.interest": "💡 Because you're into {interest}.",
    "why.popular": "💡 Popular with shoppers right now.",
    "why.discovery": "💡 A discovery pick: something new, to keep your feed fresh.",
    "why.others_liked": "💡 People who liked “{title}” also liked this.",
    "why.requested": "💡 You opened this product yourself.",
    # search
    "search.usage": "Tell me what you're looking for, e.g. <code>/search running shoes</code>.",
    "search.too_long": "That search is too long: keep it under {limit} characters.",
    "search.none": "Nothing matched “{query}”. Try other words.",
    "search.results": "🔎 Results for “{query}”: tap one to see its clip.",
    # likes
    "likes.empty": "No likes yet. Tap ❤️ on a card you love and it shows up here.",
    "likes.header": "❤️ Your likes ({count}): tap one to see its clip.",
    "likes.header_newest": "❤️ Your likes ({count}), the {shown} newest below: tap one to see its clip.",
    # language
    "lang.prompt": "Choose your language:",
    "lang.set": "Language set: English 🇬🇧",
    # help
    "help.text": (
        "<b>reelcart</b>: a feed of short product clips that learns your taste.\n\n"
        "/feed: swipe clips\n"
        "/search <i>words</i>: find products by meaning\n"
        "/likes: what you liked\n"
        "/orders: your orders and their status\n"
        "/basket: products gathered to pay at once\n"
        "/lang: English or French\n"
        "/start: pick your interests again\n"
        "/merchant: sell on reelcart\n"
        "/mydata: everything reelcart holds about you\n"
        "/forget: erase your data\n"
        "/help: this message\n\n"
        "On a card: ❤️ like · 👎 not for me · ⏭ next · 🛒 buy · 🔗 shop · 💡 why this · "
        "↗️ share"
    ),
    "unknown_command": "I don't know that command. /help lists what I can do.",
    "free_text": "Send /feed to swipe, or /search followed by what you're looking for.",
    # inline
    "inline.share_text": "{title}: {price}. Open it in reelcart: {link}",
    "inline.open_button": "🎬 Watch in reelcart",
    # commands menu
    "cmd.start": "Start and choose your interests",
    "cmd.feed": "Swipe the product feed",
    "cmd.search": "Find products by meaning",
    "cmd.likes": "Products you liked",
    "cmd.lang": "Change language",
    "cmd.help": "How reelcart works",
    # errors
    "error.generic": "Something went wrong on our side. Please try again.",
    "error.product_not_found": "That product doesn't exist (any more).",
    "error.product_unavailable": "That product isn't available right now.",
    "error.out_of_stock": "That product is sold out.",
    "error.stale_card": "This card is from earlier. Send /feed for a fresh one.",
    "error.catalog_file": "That file can't be imported.",
}
