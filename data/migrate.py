"""Move image content to the other store after changing ``PIXY_STORAGE``: ``python -m data.migrate --to mysql``.

``make migrate TO=mysql`` (or ``TO=disk``). Safe while the service serves (it reads either side until the end)
and after a kill at any point (a second run skips what is on the target and verified). The source's copies
are removed only once every image is verified on the target, unless ``--keep-source``.
Exit status: 0 done; 1 some images not moved (listed), or stopped by an error; 2 another run holds the database
(or bad arguments).
"""

from __future__ import annotations

import argparse
import sys

from core.exceptions import ImageException
from core.settings import Settings, get_settings
from data.connection import Pool
from data.content_migration import ContentMigration, Tally, exclusive
from data.content_sides import DiskSide, MySQLSide, Side
from data.storage import MySQLStore

SHOWN = 10  # guids listed per kind of problem


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m data.migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", required=True, choices=["mysql", "disk"], help="the store to move content into")
    parser.add_argument("--batch", type=int, default=100, help="images per batch (default 100)")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between batches, to spare a busy database")
    parser.add_argument("--keep-source", action="store_true", help="leave the source's copies where they are")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.pause < 0:
        parser.error("--batch must be at least 1 and --pause at least 0")
    return args


def sides(settings: Settings, pool: Pool, *, to: str) -> tuple[Side, Side]:
    disk, mysql = DiskSide(settings.pixy_images_dir), MySQLSide(MySQLStore(pool))
    return (disk, mysql) if to == "mysql" else (mysql, disk)


def say(line: str) -> None:
    print(line, flush=True)


def problems(tally: Tally) -> None:
    if tally.missing:
        say(f"{len(tally.missing)} images have no content on either side: {', '.join(tally.missing[:SHOWN])}")
    for guid, why in list(tally.failed.items())[:SHOWN]:
        say(f"not moved: {guid}: {why}")
    if len(tally.failed) > SHOWN:
        say(f"… and {len(tally.failed) - SHOWN} more not moved")


def run(settings: Settings, pool: Pool, args: argparse.Namespace) -> int:
    source, target = sides(settings, pool, to=args.to)
    migration = ContentMigration(pool, source=source, target=target, batch=args.batch, pause=args.pause, report=say)
    say(f"moving image content from {source.name} to {target.name} (database {settings.db_name!r})")
    if settings.pixy_storage != target.name:
        say(
            f"note: PIXY_STORAGE={settings.pixy_storage}: the service still writes new images to {source.name}; "
            f"set PIXY_STORAGE={target.name}, restart it, and run this again for what it wrote meanwhile"
        )
    copied = migration.copy()
    say(
        f"copied {copied.copied} images ({copied.bytes / 1e6:.1f} MB), {copied.present} were on {target.name} "
        f"already, {copied.gone} deleted meanwhile: {copied.copied + copied.present} verified on {target.name}"
    )
    if not copied.complete:
        problems(copied)
        say(f"nothing removed from {source.name}: every image must be verified on {target.name} first")
        return 1
    if args.keep_source:
        say(f"--keep-source: the copies on {source.name} stay")
        return 0
    removed = migration.remove_source()
    say(f"removed {removed.removed} copies from {source.name}")
    if removed.kept:
        say(
            f"{len(removed.kept)} images were not on {target.name} when removing (written to {source.name} since "
            f"the copy, or deleted) and stay where they are: run again ({', '.join(removed.kept[:SHOWN])})"
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = get_settings()
    pool = Pool(settings)
    try:
        with exclusive(settings) as alone:
            if not alone:
                print(f"data.migrate: another run is moving {settings.db_name!r}'s content now", file=sys.stderr)
                return 2
            return run(settings, pool, args)
    except ImageException as exc:
        print(f"data.migrate: stopped: {exc.message}; run it again to go on from here", file=sys.stderr)
        return 1
    finally:
        pool.close()


if __name__ == "__main__":
    sys.exit(main())
