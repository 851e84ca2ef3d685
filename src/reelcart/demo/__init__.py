"""``reelcart demo``: the whole product on embedded defaults, no token and no network.

- ``catalog``: the demo catalog, imported with the real model;
- ``transcript``: what every scene shares, and the readable transcript it prints;
- ``shopper``: the feed scene, a scripted shopper whose taste the feed must find;
- ``commerce``: buying by card and in Stars, and a tracked shop link;
- ``merchants``: a merchant applies, uploads and is moderated; an admin broadcasts;
- ``run``: the sandbox, the real bot process and the scenes in order.
"""

from reelcart.demo.catalog import DemoCatalog, load_demo_catalog
from reelcart.demo.run import run_demo

__all__ = ["DemoCatalog", "load_demo_catalog", "run_demo"]
