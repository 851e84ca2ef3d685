"""Textes en français."""

MESSAGES: dict[str, str] = {
    # onboarding
    "start.hello": (
        "Salut {name} ! 👋 Je suis <b>reelcart</b> : fais défiler de courtes vidéos de "
        "produits, et le fil apprend tes goûts à chaque geste.\n\nQu'est-ce qui te plaît ? "
        "Choisis-en quelques-uns, puis touche <b>C'est parti</b>."
    ),
    "start.welcome_back": "Re-bonjour {name} ! Envoie /feed pour reprendre le fil.",
    "start.interest_added": "Ajouté : {interest}",
    "start.interest_removed": "Retiré : {interest}",
    "start.done_button": "▶️ C'est parti",
    "start.skip_button": "Surprends-moi",
    "start.lang_button": "🇬🇧 English",
    "start.no_products": "La boutique est encore vide : reviens bientôt !",
    # feed
    "feed.empty": (
        "Tu as tout vu pour l'instant. De nouveaux produits arrivent souvent : réessaie /feed "
        "plus tard."
    ),
    "feed.card_caption": "<b>{title}</b>\n{price} · {merchant}\n{hashtags}",
    "feed.sold_out": "Épuisé",
    "feed.btn_like": "❤️ J'aime",
    "feed.btn_dislike": "👎 Pas pour moi",
    "feed.btn_next": "⏭ Suivant",
    "feed.btn_buy": "🛒 Acheter",
    "feed.btn_shop": "🔗 Boutique",
    "feed.btn_why": "💡 Pourquoi ?",
    "feed.btn_share": "↗️ Partager",
    "feed.liked": "❤️ Ajouté à tes favoris",
    "feed.disliked": "👎 Compris : moins de produits comme ça",
    "feed.skipped": "⏭",
    "feed.stale": "Cette carte est ancienne. Envoie /feed pour en avoir une nouvelle.",
    "feed.already": "Déjà noté 👍",
    "feed.not_yours": "Ce bouton n'est pas pour toi.",
    "feed.card_unavailable": "Ce produit n'est plus disponible.",
    # why this
    "why.similar_to_liked": "💡 Parce que tu as aimé « {title} ».",
    "why.interest": "💡 Parce que tu t'intéresses à : {interest}.",
    "why.popular": "💡 Populaire en ce moment.",
    "why.discovery": "💡 Une découverte : quelque chose de nouveau, pour garder ton fil varié.",
    "why.others_liked": "💡 Les personnes qui ont aimé « {title} » ont aussi aimé ceci.",
    "why.requested": "💡 Tu as ouvert ce produit toi-même.",
    # search
    "search.usage": "Dis-moi ce que tu cherches, par ex. <code>/search chaussures de course</code>.",
    "search.too_long": "Recherche trop longue : reste sous {limit} caractères.",
    "search.none": "Rien ne correspond à « {query} ». Essaie d'autres mots.",
    "search.results": "🔎 Résultats pour « {query} » : touche un produit pour voir sa vidéo.",
    # likes
    "likes.empty": "Aucun favori pour l'instant. Touche ❤️ sur une carte qui te plaît.",
    "likes.header": "❤️ Tes favoris ({count}) : touche un produit pour voir sa vidéo.",
    "likes.header_newest": "❤️ Tes favoris ({count}), les {shown} plus récents ci-dessous : touche un produit pour voir sa vidéo.",
    # language
    "lang.prompt": "Choisis ta langue :",
    "lang.set": "Langue choisie : français 🇫🇷",
    # help
    "help.text": (
        "<b>reelcart</b> : un fil de courtes vidéos de produits qui apprend tes goûts.\n\n"
        "/feed : faire défiler les vidéos\n"
        "/search <i>mots</i> : trouver des produits par le sens\n"
        "/likes : tes favoris\n"
        "/orders : tes commandes et leur état\n"
        "/basket : les produits réunis pour payer en une fois\n"
        "/lang : français ou anglais\n"
        "/start : choisir à nouveau tes centres d'intérêt\n"
        "/merchant : vendre sur reelcart\n"
        "/mydata : tout ce que reelcart garde sur toi\n"
        "/forget : effacer tes données\n"
        "/help : ce message\n\n"
        "Sur une carte : ❤️ j'aime · 👎 pas pour moi · ⏭ suivant · 🛒 acheter · "
        "🔗 boutique · 💡 pourquoi · ↗️ partager"
    ),
    "unknown_command": "Je ne connais pas cette commande. /help liste ce que je sais faire.",
    "free_text": "Envoie /feed pour faire défiler, ou /search suivi de ce que tu cherches.",
    # inline
    "inline.share_text": "{title} : {price}. À voir dans reelcart : {link}",
    "inline.open_button": "🎬 Voir dans reelcart",
    # commands menu
    "cmd.start": "Démarrer et choisir tes centres d'intérêt",
    "cmd.feed": "Faire défiler les produits",
    "cmd.search": "Trouver des produits par le sens",
    "cmd.likes": "Les produits que tu as aimés",
    "cmd.lang": "Changer de langue",
    "cmd.help": "Comment marche reelcart",
    # errors
    "error.generic": "Un problème est survenu de notre côté. Réessaie, s'il te plaît.",
    "error.product_not_found": "Ce produit n'existe pas (ou plus).",
    "error.product_unavailable": "Ce produit n'est pas disponible pour le moment.",
    "error.out_of_stock": "Ce produit est épuisé.",
    "error.stale_card": "Cette carte est ancienne. Envoie /feed pour en avoir une nouvelle.",
    "error.catalog_file": "Ce fichier ne peut pas être importé.",
}
