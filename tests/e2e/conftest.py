"""End-to-end: the real ``reelcart run`` process, the real model, over loopback HTTP.

The demo catalog is imported once per session with the real model into a template
database; each bot process gets its own copy.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from reelcart.config import Settings
from reelcart.demo import DemoCatalog, load_demo_catalog
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer


@dataclass
class Template:
    db_path: Path
    catalog: DemoCatalog

    def copy_to(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "shop.db"
        for source in self.db_path.parent.glob(self.db_path.name + "*"):
            shutil.copy(source, folder / source.name.replace(self.db_path.name, "shop.db"))
        return target


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    folder = tmp_path_factory.mktemp("template")
    db_path = folder / "template.db"
    catalog = load_demo_catalog(Settings(db_path=db_path))
    yield Template(db_path, catalog)


@dataclass
class Running:
    server: SandboxServer
    bot: BotProcess
    catalog: DemoCatalog
    db_path: Path
    mode: str


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["polling", "webhook"])
async def running(
    request: pytest.FixtureRequest, template: Template, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    mode = str(request.param)
    db_path = template.copy_to(tmp_path_factory.mktemp(f"bot-{mode}"))
    async with SandboxServer() as server:
        bot = BotProcess(server.root_url, server.token, db_path, webhook=mode == "webhook")
        await bot.start()
        try:
            yield Running(server, bot, template.catalog, db_path, mode)
        finally:
            code = await bot.stop()
            assert code == 0, bot.tail()
