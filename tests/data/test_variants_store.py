"""Variants follow their image: one made while the image is being deleted is not kept."""

from __future__ import annotations

from core.variants import VariantSpec
from data.images import MySQLImageRepository
from data.variants import VariantRepository, make_variant_store


def test_a_variant_made_after_its_image_was_deleted_is_not_kept(settings, pool, store, store_kind, add):
    settings = settings.model_copy(update={"pixy_storage": store_kind})
    variants = VariantRepository(pool, store, make_variant_store(settings, pool))
    kept, gone = add(), add()
    spec = VariantSpec("webp", 32)
    assert variants.find(gone.guid, spec) == (spec, None)
    MySQLImageRepository(pool, store).delete(gone.guid)
    variants.add(gone.guid, spec, b"late")  # the encoding finished after the delete: nothing is left behind
    variants.add(kept.guid, spec, b"made")
    assert variants.find(gone.guid, spec) is None
    assert variants.find(kept.guid, spec)[1].read() == b"made"
    if store_kind == "disk":
        assert sorted(p.name for p in settings.pixy_images_dir.glob("*.*.*")) == [f"{kept.guid}.32.webp"]
