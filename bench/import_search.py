"""Import and search measurements through the member service's gRPC API."""

from __future__ import annotations

import asyncio
import io
import random
import time
from datetime import date, timedelta

import grpc
from hongyun.member.v1 import member_search_pb2 as spb
from hongyun.member.v1 import member_search_pb2_grpc, member_transfer_files_pb2_grpc
from hongyun.member.v1 import member_transfer_files_pb2 as tpb
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.validation import check_character
from load import percentiles
from member_service.domain.member_template import HEADERS
from openpyxl import Workbook
from pypinyin import Style, lazy_pinyin

CHUNK = 1 << 20


def import_workbook(rows: int, org_paths: list[str]) -> bytes:
    """A template workbook of `rows` new members (region 320102, so no clash with the generator)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员信息")
    ws.append(list(HEADERS))
    day0 = date(1950, 1, 1)
    for i in range(rows):
        born = day0 + timedelta(days=i % 20_000)
        first17 = f"320102{born:%Y%m%d}{i // 20_000:03d}"
        values = {
            "姓名": f"导入{i}", "公民身份号码": first17 + check_character(first17), "民族": "汉族",
            "学历": "大学本科", "人员类别": "正式党员", "入党日期": (born + timedelta(days=9131)).isoformat(),
            "转正日期": (born + timedelta(days=9496)).isoformat(), "手机号码": f"15{i:09d}",
            "党籍状态": "正常", "是否失联": "否", "是否流动": "否", "所在党组织": org_paths[i % len(org_paths)],
        }  # fmt: skip
        ws.append([values.get(h, "") for h in HEADERS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def measure_import(target: str, caller: CallerContext, xlsx: bytes, rows: int) -> dict:
    md = caller.to_metadata()

    async def upload():
        yield tpb.StartImportRequest(header=tpb.ImportUploadHeader(
            file_name="bench.xlsx", mode=tpb.IMPORT_MODE_VALID_ROWS_ONLY))  # fmt: skip
        for i in range(0, len(xlsx), CHUNK):
            yield tpb.StartImportRequest(chunk=xlsx[i : i + CHUNK])

    async with grpc.aio.insecure_channel(
        target, options=[("grpc.max_receive_message_length", 64 << 20)]
    ) as ch:
        stub = member_transfer_files_pb2_grpc.MemberImportExportServiceStub(ch)
        started = time.perf_counter()
        job = (await stub.StartImport(upload(), metadata=md, timeout=600)).job
        while job.status in (tpb.IMPORT_JOB_STATUS_QUEUED, tpb.IMPORT_JOB_STATUS_RUNNING):
            await asyncio.sleep(0.2)
            job = (
                await stub.GetImportJob(tpb.GetImportJobRequest(id=job.id), metadata=md, timeout=30)
            ).job
        elapsed = time.perf_counter() - started
    return {
        "rows": rows, "accepted": job.accepted, "rejected": job.rejected,
        "status": tpb.ImportJobStatus.Name(job.status), "seconds": round(elapsed, 2),
        "rows_per_s": round(job.accepted / elapsed) if elapsed else 0,
    }  # fmt: skip


def search_queries(
    people: list[tuple[str, str, str]], n: int = 200, seed: int = 3
) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    picks = [rnd.choice(people) for _ in range(n)]
    return {
        "chinese_name": [name for name, _, _ in picks],
        "full_pinyin": ["".join(lazy_pinyin(name)) for name, _, _ in picks],
        "initials": ["".join(lazy_pinyin(name, style=Style.FIRST_LETTER)) for name, _, _ in picks],
        "id_suffix": [idn[-4:] for _, idn, _ in picks],
        "phone_suffix": [phone[-4:] for _, _, phone in picks],
    }


async def measure_search(target: str, caller: CallerContext, queries: dict[str, list[str]]) -> dict:
    out = {}
    md = caller.to_metadata()
    async with grpc.aio.insecure_channel(target) as ch:
        stub = member_search_pb2_grpc.MemberSearchServiceStub(ch)
        for kind, qs in queries.items():
            samples, hits = [], 0
            for i, q in enumerate(qs):
                t = time.perf_counter()
                resp = await stub.SearchMembers(
                    spb.SearchMembersRequest(query=q, page_size=20), metadata=md, timeout=30
                )
                if i >= 3:
                    samples.append((time.perf_counter() - t) * 1000)
                hits += 1 if resp.hits else 0
            p50, p95 = percentiles(samples)
            out[kind] = {
                "queries": len(qs),
                "with_hits": hits,
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
            }
    return out
