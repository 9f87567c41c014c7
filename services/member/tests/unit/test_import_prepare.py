"""The CPU part of an import batch (validation and encryption), as worker processes run it."""

from __future__ import annotations

import base64
import pickle
import uuid
from datetime import date

from hongyun_platform.crypto import encode_key, generate_key
from hongyun_platform.validation import check_character
from member_service.domain import member_template as tpl
from member_service.imports import CipherSpec, OrgPaths, prepare_batch, view_of
from member_service.transfer_models import ImportJob
from member_service.transfer_repository import OrgNode

SPEC = CipherSpec(
    encode_key("k1", generate_key("AES-GCM")),
    "AES-GCM",
    "",
    base64.b64encode(generate_key("AES-GCM")).decode(),
)
MAPPING = dict(enumerate(c.key for c in tpl.COLUMNS))


def id_number(seq: int) -> str:
    first17 = f"11010519800101{seq:03d}"
    return first17 + check_character(first17)


def cells(seq: int, **kw) -> list:
    values = dict.fromkeys(tpl.HEADERS, "")
    values.update({"姓名": f"张{seq}", "公民身份号码": id_number(seq), "人员类别": "正式党员",
                   "入党日期": "2005-07-01", "手机号码": "13812345678", "所在党组织": "党委/支部"})  # fmt: skip
    values.update(kw)
    return [values[h] for h in tpl.HEADERS]


def test_valid_rows_are_encrypted_as_the_directory_writes_them():
    directory = SPEC.directory()
    tenant = uuid.uuid4()
    batch = [(2, cells(1)), (3, cells(2, 姓名=""))]
    rows, built, seconds = prepare_batch(
        directory, batch, MAPPING, date(2026, 11, 28), "", True, tenant, "u1"
    )
    assert [r.ok for r in rows] == [True, False] and built[1] is None
    m = built[0]
    assert m["tenant_id"] == tenant and m["created_by"] == "u1" and m["version"] == 1
    assert m["id_number_index"] == directory.id_index(id_number(1))
    aad = f"member:{m['id']}:id_number".encode()
    assert directory.cipher.decrypt(m["id_number_enc"], aad=aad) == id_number(1)
    assert set(seconds) == {"validate", "encrypt"}
    # What crosses the process boundary pickles.
    assert pickle.loads(pickle.dumps((rows, built)))[0][0].profile == rows[0].profile


def test_without_writing_only_the_blind_index_is_computed():
    directory = SPEC.directory()
    rows, built, _ = prepare_batch(
        directory, [(2, cells(3))], MAPPING, date(2026, 11, 28), "", False, uuid.uuid4(), "u"
    )
    assert rows[0].ok and built == [{"id_number_index": directory.id_index(id_number(3))}]


def test_a_worker_rebuilds_the_same_cipher():
    a, b = SPEC.directory(), pickle.loads(pickle.dumps(SPEC)).directory()
    token = a.cipher.encrypt("x", aad=b"t")
    assert b.cipher.decrypt(token, aad=b"t") == "x"
    assert a.id_index(id_number(1)) == b.id_index(id_number(1))


def test_org_paths_resolve_active_organisations_inside_the_scope_only():
    root, b1, b2, gone = (uuid.uuid4() for _ in range(4))
    nodes = [
        OrgNode(root, None, "党委", root.hex, True),
        OrgNode(b1, root, "一支部", f"{root.hex}.{b1.hex}", True),
        OrgNode(b2, root, "二支部", f"{root.hex}.{b2.hex}", True),
        OrgNode(gone, root, "撤销的支部", f"{root.hex}.{gone.hex}", False),
    ]
    everyone = OrgPaths(nodes, None)
    assert everyone.resolve("党委/一支部") == b1 and everyone.resolve("党委") == root
    assert (
        everyone.resolve("党委/撤销的支部") is None and everyone.name_of(gone) == "党委/撤销的支部"
    )
    secretary = OrgPaths(nodes, f"{root.hex}.{b1.hex}")
    assert secretary.resolve("党委/一支部") == b1
    assert secretary.resolve("党委/二支部") is None and secretary.resolve("党委") is None


def test_percent_is_100_only_when_finished():
    job = ImportJob(status="running", total_rows=200, rows_done=200, reasons={})
    assert view_of(job).percent == 99
    job.status = "rejected"
    assert view_of(job).percent == 100
    job = ImportJob(status="queued", total_rows=0, rows_done=0,
                    reasons={"a.x": {"message": "甲", "rows": 1}, "b.y": {"message": "乙", "rows": 3}})  # fmt: skip
    v = view_of(job)
    assert v.percent == 0 and [r[0] for r in v.reasons] == ["b.y", "a.x"]
