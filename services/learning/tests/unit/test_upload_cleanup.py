"""Abandoned multipart uploads on the filesystem store are removed by the clean-up job; an
upload still in use and other stores are left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hongyun_platform.storage import UploadNotFound, storage_from_settings
from learning_service.upload_cleanup import AbandonedUploadCleanup


@pytest.fixture
async def store(tmp_path):
    s = storage_from_settings({"storage_kind": "filesystem", "storage_root": tmp_path,
                               "storage_public_url": "http://127.0.0.1:9/files"})  # fmt: skip
    await s.ensure_bucket()
    return s


async def test_an_abandoned_upload_is_removed(store):
    upload = await store.create_multipart_upload("learning/t/c/i/v1/video.mp4", "video/mp4")
    job = AbandonedUploadCleanup(store, older_than=timedelta(0), interval_seconds=3600)
    assert await job.run_once() == 1
    with pytest.raises(UploadNotFound):
        await store.list_parts("learning/t/c/i/v1/video.mp4", upload)


async def test_a_recent_upload_is_kept(store):
    upload = await store.create_multipart_upload("learning/t/c/i/v1/video.mp4", "video/mp4")
    job = AbandonedUploadCleanup(store, older_than=timedelta(hours=48), interval_seconds=3600)
    assert await job.run_once() == 0
    assert await store.list_parts("learning/t/c/i/v1/video.mp4", upload) == []
