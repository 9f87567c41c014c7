"""Province-scale data generator: one tenant, an organisation tree in 5 levels and members,
bulk-loaded with COPY (not one API call per row).

Column values come from the member service's own code (MemberDirectory.write_profile), so the
encrypted personal data, blind indexes and search columns are exactly what the service writes.
Default scale 1.0 = 100k organisations and 1M members; --scale 0.01 for a quick run.
"""

from __future__ import annotations

import csv
import io
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
from hongyun_platform.crypto import FieldCipher
from hongyun_platform.ids import new_id
from hongyun_platform.validation import check_character
from member_service.domain import org_path
from member_service.domain.profile import Category, Gender, PartyStatus, Profile
from member_service.models import Member
from member_service.service import MemberDirectory

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国立新云晓东海波宁德福春梅志文斌鹏飞辉"
)
NULL = "\\N"  # COPY's NULL marker, so that empty strings stay empty strings
# Every column the generator sets: the others (timestamps, state columns with a server default
# the generator leaves alone) get their defaults from PostgreSQL, as in the service.
MEMBER_COLUMNS = [
    c.name
    for c in Member.__table__.columns
    if c.server_default is None or c.name in ("ethnicity", "education", "job_post", "version",
                                                 "lost_contact", "floating", "floating_destination",
                                                 "created_by", "updated_by")
]  # fmt: skip
ORG_COLUMNS = ["id", "tenant_id", "parent_id", "name", "type", "path", "depth", "created_by"]


@dataclass
class Generated:
    tenant_id: uuid.UUID
    root_id: uuid.UUID
    city_ids: list[uuid.UUID]
    branch_ids: list[uuid.UUID]
    organizations: int
    members: int
    member_ids_sample: list[uuid.UUID]
    member_csv: bytes  # the member rows as loaded (reused as the raw COPY baseline)
    branch_paths: list[str]  # "基准省委/第1市委/…/第1党支部", as the import template names them
    seconds: float
    people: list[tuple[str, str, str]]  # (name, ID number, phone) of sampled members, for search


def _widths(scale: float) -> tuple[int, int, int, int]:
    f = scale**0.25
    cities, counties, towns = max(2, round(20 * f)), max(2, round(10 * f)), max(2, round(25 * f))
    branches = max(cities * counties * towns, round(95_000 * scale))
    return cities, counties, towns, branches


def _csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in rows:
        w.writerow([NULL if v is None else v for v in r])
    return buf.getvalue().encode()


def _cell(value):
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list):
        return "{" + ",".join(value) + "}"
    return value


async def generate(
    dsn: str, cipher: FieldCipher, *, code: str, scale: float, seed: int = 7
) -> Generated:
    rnd = random.Random(seed)
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        tenant_id = new_id()
        await conn.execute(
            "INSERT INTO member.tenants (id, name, code, path, status) VALUES ($1, $2, $3, $4::ltree, 'active')",
            tenant_id, f"基准省 {code}", code, org_path.label_for(tenant_id),
        )  # fmt: skip
        cities, counties, towns, branches = _widths(scale)
        orgs: list[list] = []

        names: dict[uuid.UUID, tuple[str, uuid.UUID | None]] = {}

        def add(
            parent: tuple[uuid.UUID, str] | None, name: str, kind: int
        ) -> tuple[uuid.UUID, str]:
            oid = new_id()
            names[oid] = (name, parent[0] if parent else None)
            path = org_path.child_path(parent[1] if parent else None, oid)
            orgs.append(
                [
                    oid,
                    tenant_id,
                    parent[0] if parent else None,
                    name,
                    kind,
                    path,
                    org_path.depth(path),
                    "bench",
                ]
            )
            return oid, path

        root = add(None, "基准省委", 1)
        city_nodes, town_nodes = [], []
        for c in range(cities):
            city = add(root, f"第{c + 1}市委", 1)
            city_nodes.append(city)
            for k in range(counties):
                county = add(city, f"第{c + 1}市第{k + 1}县委", 1)
                for t in range(towns):
                    town_nodes.append(add(county, f"第{c + 1}-{k + 1}-{t + 1}镇党委", 1))
        branch_nodes = [
            add(town_nodes[b % len(town_nodes)], f"第{b + 1}党支部", 3) for b in range(branches)
        ]
        await conn.copy_to_table("organizations", schema_name="member", columns=ORG_COLUMNS,
                                 source=io.BytesIO(_csv(orgs)), format="csv", null=NULL)  # fmt: skip

        directory = MemberDirectory(cipher)
        n_members = round(1_000_000 * scale)
        rows, sample, people = [], [], []
        day0 = date(1940, 1, 1)
        for i in range(n_members):
            born = day0 + timedelta(days=i % 23_000)
            # Sequence codes spread over 000-999 as in a real population (unique per birth day:
            # members sharing a day differ in i // 23_000 < 1000).
            first17 = f"110105{born:%Y%m%d}{(i // 23_000 + 7 * (i % 23_000)) % 1000:03d}"
            idn = first17 + check_character(first17)
            full = rnd.random() < 0.9
            status = (
                PartyStatus.NORMAL if rnd.random() < 0.95 else rnd.choice(list(PartyStatus)[2:])
            )
            p = Profile(
                name=rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if i % 3 else ""),
                gender=Gender.MALE if int(idn[16]) % 2 else Gender.FEMALE,
                id_number=idn, ethnicity="汉族", birth_date=born, education="本科",
                category=Category.FULL if full else Category.PROBATIONARY,
                joined_on=born + timedelta(days=365 * 25),
                converted_on=born + timedelta(days=365 * 26) if full else None,
                job_post="职员", mobile_phone=f"13{i:09d}", home_address="某省某市某区示范路1号",
                party_status=status, lost_contact=rnd.random() < 0.01, floating=rnd.random() < 0.03,
            )  # fmt: skip
            p = _consistent(p)
            m = Member(id=new_id(), tenant_id=tenant_id, organization_id=branch_nodes[i % branches][0],
                       version=1, created_by="bench", updated_by="bench")  # fmt: skip
            directory.write_profile(m, p)
            values = {c: getattr(m, c, None) for c in MEMBER_COLUMNS}
            values.update(created_at=None, updated_at=None)
            rows.append([_cell(values[c]) for c in MEMBER_COLUMNS])
            if i % max(1, n_members // 200) == 0:
                sample.append(m.id)
                people.append((p.name, p.id_number, p.mobile_phone))
        cols = MEMBER_COLUMNS
        data = _csv(rows)
        await conn.copy_to_table("members", schema_name="member", columns=cols,
                                 source=io.BytesIO(data), format="csv", null=NULL)  # fmt: skip
        # As after any bulk load: VACUUM sets the visibility map (index-only scans) and keeps
        # autovacuum from doing it on the 2 cores while the measurements run; ANALYZE gives the
        # trigger-written search terms and counts their statistics (ADR 0008).
        for table in ("organizations", "members", "member_search_terms", "org_member_counts"):
            await conn.execute(f"VACUUM (ANALYZE) member.{table}")
    finally:
        await conn.close()

    def name_path(oid: uuid.UUID | None) -> str:
        parts = []
        while oid is not None:
            name, oid = names[oid]
            parts.append(name)
        return "/".join(reversed(parts))

    return Generated(tenant_id, root[0], [c[0] for c in city_nodes], [b[0] for b in branch_nodes],
                     len(orgs), n_members, sample, data, [name_path(b[0]) for b in branch_nodes[:200]],
                     time.perf_counter() - started, people)  # fmt: skip


def _consistent(p: Profile) -> Profile:
    from dataclasses import replace

    return replace(
        p,
        lost_contact_since=p.joined_on if p.lost_contact else None,
        floating_destination="上海市" if p.floating else "",
    )
