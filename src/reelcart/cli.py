"""The ``reelcart`` command: a thin layer over the library.

Settings are read from the environment here, once, and passed down. Logging is set up
here too (``logging_config``: library chatter quieted, secrets redacted). A usage or
configuration error (a bad flag or variable, a token the Bot API refuses, a model that
does not load) is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reelcart.config import ConfigError, Settings
from reelcart.domain import Language
from reelcart.logging_config import configure_logging

if TYPE_CHECKING:  # the shop and its model load only for the commands that need them
    from reelcart.catalog.clip_folder import ClipFolderReport, SkippedClip
    from reelcart.services.shop import Shop

log = logging.getLogger("reelcart")

DESCRIPTION = """\
reelcart: a Telegram shopping bot built like a short-video feed.

commands:
  run       the bot, on the real Telegram (long polling; --webhook behind REELCART_PUBLIC_URL)
  import    import a catalog file (CSV, JSON or a Shopify product export) for a merchant
  demo      the whole product on embedded defaults: no token, no network
  eval      offline evaluation of the ranking (eval movielens: MovieLens-100k vs baselines)
  simulate  synthetic shoppers with hidden tastes swipe through the real ranking

Configuration comes from REELCART_* environment variables (see the README).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelcart",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run the bot (needs REELCART_BOT_TOKEN)",
        description="Run the bot against Telegram, or any Bot API base in REELCART_API_BASE. "
        "Serves /healthz (and the webhook) on REELCART_HTTP_PORT.",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook at REELCART_PUBLIC_URL instead of long polling",
    )

    imp = commands.add_parser(
        "import",
        help="import a catalog file for a merchant",
        description="Import a CSV, JSON or Shopify product CSV file. Bad rows are reported "
        "with their line and column; the good rows are imported. Re-importing an unchanged "
        "file changes nothing.",
    )
    imp.add_argument("file", type=Path, help="the catalog file")
    imp.add_argument("--merchant", required=True, help="the merchant's name (created if new)")
    imp.add_argument(
        "--errors-csv", type=Path, help="also write the failed rows and their reasons here"
    )
    imp.add_argument(
        "--clips",
        type=Path,
        help="a folder of clips named <sku>.mp4 (or .gif; the SKU in any letter case) to "
        "attach to the imported products: each is checked to be a video, copied beside the "
        "database, and every file not attached is listed with the reason",
    )
    imp.add_argument(
        "--lang",
        choices=["en", "fr"],
        help="the language of the report and of the failed-rows file (default: from "
        "LC_ALL, LC_MESSAGES or LANG, French for fr_*, else English)",
    )

    demo = commands.add_parser(
        "demo",
        help="run the whole product with no token and no network",
        description="Start the sandbox Bot API, load the demo catalog, start the real "
        "`reelcart run` process against the sandbox, and play a scripted shopper.",
    )
    demo.add_argument(
        "--swipes", type=_positive, default=40, help="how many cards the shopper swipes (1 or more)"
    )
    demo.add_argument("--workdir", type=Path, help="keep the demo database here")

    evaluate = commands.add_parser(
        "eval",
        help="offline evaluation of the ranking against public baselines",
        description="Evaluate the feed's ranking offline. `eval movielens` ranks "
        "MovieLens-100k (from the recbole 1.2.1 wheel: pip install --no-deps "
        "recbole==1.2.1) with the real recommender, beside Random, MostPop and ItemKNN.",
    )
    evaluate.add_argument("dataset", choices=["movielens"], help="the data set")
    evaluate.add_argument("--data", type=Path, help="a folder with ml-100k.inter and ml-100k.item")
    evaluate.add_argument(
        "--protocols", default="AC", help="A (75/25 per user), C (cold items) or AC (default)"
    )
    evaluate.add_argument(
        "--check", action="store_true", help="exit 1 if a target is missed (for CI)"
    )

    simulate = commands.add_parser(
        "simulate",
        help="simulated shoppers swipe through the real ranking",
        description="Synthetic shoppers with hidden tastes swipe a synthetic catalog through "
        "the real recommender; like-rate per block of swipes against a random feed and an "
        "oracle, then the same with a change of taste half way.",
    )
    simulate.add_argument("--shoppers", type=int, default=200, help="shoppers swiping together")
    simulate.add_argument("--swipes", type=int, default=60, help="cards each shopper swipes")
    simulate.add_argument("--seed", type=int, default=42, help="random seed")
    simulate.add_argument(
        "--check", action="store_true", help="exit 1 if a target is missed (for CI)"
    )
    return parser


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse reports anything else: exit code 2)."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not 1 or more")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    redactor = configure_logging(args.verbose)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"reelcart: {exc}", file=sys.stderr)
        return 2
    if args.command == "run" and not settings.webhook_secret:
        # Chosen here, not in serve, so the log redacts it like the other secrets.
        settings = settings.with_overrides(webhook_secret=secrets.token_urlsafe(32))
    redactor.add(
        settings.bot_token,
        settings.payment_provider_token,
        settings.webhook_secret,
        settings.secret,
    )
    if args.command == "run":
        return _run(settings, args.webhook)
    if args.command == "import":
        problem = _import_usage_problem(args.merchant, args.clips)
        if problem:
            print(f"reelcart import: {problem}", file=sys.stderr)
            return 2
        language = Language(args.lang) if args.lang else _terminal_language()
        try:
            return _import(
                settings, args.file, args.merchant, args.errors_csv, args.clips, language
            )
        except ConfigError as exc:
            print(f"reelcart import: {exc}", file=sys.stderr)
            return 2
    if args.command == "eval":
        return _evaluate(settings, args.data, args.protocols.upper(), args.check)
    if args.command == "simulate":
        return _simulate(args.shoppers, args.swipes, args.seed, args.check)
    if args.command == "demo":
        if not args.verbose:
            # The transcript is the output; library chatter would drown it.
            logging.getLogger().setLevel(logging.WARNING)
        from reelcart.demo import run_demo

        return asyncio.run(run_demo(swipes=args.swipes, workdir=args.workdir))
    parser.error(f"unknown command {args.command}")
    return 2


def _evaluate(settings: Settings, data: Path | None, protocols: str, check: bool) -> int:
    # The tables are the output; library chatter (faiss, the model) would drown them.
    logging.getLogger().setLevel(logging.WARNING)
    from reelcart.embeddings.encoder import load_encoder
    from reelcart.evaluation import movielens

    if not protocols or set(protocols) - {"A", "C"}:
        print("reelcart eval: --protocols takes A, C or AC", file=sys.stderr)
        return 2
    try:
        ratings = movielens.load(data if data is not None else movielens.find_data())
    except movielens.DataMissing as exc:
        print(f"reelcart eval: {exc}", file=sys.stderr)
        return 2
    print(f"MovieLens-100k: {len(ratings.users)} ratings, {len(ratings.texts)} movies")
    rows = movielens.run(ratings, load_encoder(settings.model), protocols=protocols, say=print)
    print()
    for line in movielens.table(rows):
        print(line)
    missed = not all(movielens.verdicts(rows).values())
    return 1 if check and missed else 0


def _simulate(shoppers: int, swipes: int, seed: int, check: bool) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    from reelcart.evaluation import simulate

    if shoppers < 1 or swipes < 40:
        print("reelcart simulate: needs at least 1 shopper and 40 swipes", file=sys.stderr)
        return 2
    config = simulate.Config(shoppers=shoppers, swipes=swipes, seed=seed)
    missed = False
    for result, title in zip(
        simulate.run_scenarios(config), ("steady tastes", "taste changes half way"), strict=True
    ):
        print(f"{shoppers} shoppers, {title}: like-rate per block of {config.block} swipes")
        for line in simulate.table(result):
            print("  " + line)
        for line in simulate.verdict(result):
            print("  " + line)
            missed = missed or line.endswith("MISSED")
        print()
    return 1 if check and missed else 0


def _run(settings: Settings, webhook: bool) -> int:
    from reelcart.bot import serve

    log.debug("starting with %r", settings)
    try:
        asyncio.run(serve(settings, webhook=webhook))
    except ConfigError as exc:  # MissingToken too
        print(f"reelcart run: {exc}", file=sys.stderr)
        return 2
    return 0


def _terminal_language() -> Language:
    """French when the terminal's locale is (``fr_FR.UTF-8``...), else English."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return Language.FR if value.lower().startswith("fr") else Language.EN
    return Language.EN


def _import_usage_problem(merchant: str, clips: Path | None) -> str | None:
    """What is wrong with ``reelcart import``'s flags, checked before the model loads."""
    if not merchant.strip():
        return "--merchant needs the merchant's name"
    if clips is not None and not clips.is_dir():
        return f"--clips {clips}: no such folder"
    return None


def _import(
    settings: Settings,
    path: Path,
    merchant: str,
    errors_csv: Path | None,
    clips: Path | None,
    lang: Language,
) -> int:
    from reelcart.domain import CatalogFileError
    from reelcart.i18n import t
    from reelcart.i18n.catalog_report import (
        failed_rows_csv,
        file_reason,
        report_counts,
        row_place,
        row_reason,
    )
    from reelcart.progress import ProgressBar
    from reelcart.services.opening import open_shop

    logging.getLogger("reelcart").setLevel(logging.WARNING)
    shop = open_shop(settings)
    bar = ProgressBar()
    try:
        report = shop.import_file(path, merchant, progress=bar)
    except CatalogFileError as exc:
        bar.close()
        reason = file_reason(lang, exc)
        print(t(lang, "cli.nothing_imported", file=path.name, reason=reason), file=sys.stderr)
        shop.close()
        return 1
    bar.close()
    clip_report = None
    try:
        if clips is not None:
            clip_report = attach_clip_folder(shop, report.merchant.id, clips)
    finally:
        shop.close()
    print(t(lang, "cli.import_counts", file=path.name, **report_counts(report)))
    if clip_report is not None:
        print(t(lang, "cli.clips_attached", count=len(clip_report.attached)))
        if clip_report.skipped:
            print(t(lang, "cli.clips_skipped", count=len(clip_report.skipped)), file=sys.stderr)
        for skipped in clip_report.skipped:
            reason = _skipped_clip_reason(lang, skipped)
            line = t(lang, "upload.error_line", where=skipped.file, reason=reason)
            print("  " + line, file=sys.stderr)
    for error in report.errors:
        where, reason = row_place(lang, error), row_reason(lang, error)
        print("  " + t(lang, "upload.error_line", where=where, reason=reason), file=sys.stderr)
    if errors_csv is not None and report.errors:
        errors_csv.write_bytes(failed_rows_csv(report.errors, lang))
        print(t(lang, "cli.failed_rows_written", path=errors_csv))
    return 0


def attach_clip_folder(shop: Shop, merchant_id: int, folder: Path) -> ClipFolderReport:
    """Attach the clips in ``folder`` (``<sku>.mp4`` / ``<sku>.gif``) to the merchant's
    products, copied into the shop's clips folder (see ``catalog.clip_folder``)."""
    from reelcart.catalog import clip_folder

    return clip_folder.attach_clip_folder(shop.db, merchant_id, folder, shop.merchants.clips_dir)


def _skipped_clip_reason(lang: Language, skipped: SkippedClip) -> str:
    from reelcart.i18n import t

    return t(lang, f"cli.clip_{skipped.problem.value}", sku=skipped.sku, other=skipped.other)


if __name__ == "__main__":
    sys.exit(main())
