"""Pure rules of courses: sizes, status changes and the two-person rule, items, checkpoints,
materials and audiences."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser

import pytest
from hongyun_platform.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from learning_service.domain import courses as d


def code_of(exc_info: pytest.ExceptionInfo) -> str:
    return exc_info.value.code


# ---- course fields ----


def test_titles_are_stripped_and_bounded():
    assert d.course_title("  学习贯彻党的二十大精神 ") == "学习贯彻党的二十大精神"
    assert d.course_title("党" * 200) == "党" * 200
    with pytest.raises(InvalidArgument) as e:
        d.course_title("党" * 201)
    assert code_of(e) == "course_title_too_long" and e.value.field == "title"
    assert "200" in e.value.message and e.value.message.startswith("课程标题")
    with pytest.raises(InvalidArgument) as e:
        d.course_title("   ")
    assert code_of(e) == "course_title_required"
    with pytest.raises(InvalidArgument) as e:
        d.course_title("a\x00b")
    assert code_of(e) == "course_title_invalid"


def test_tags_are_deduplicated_and_limited():
    assert d.course_tags([" 党史 ", "党史", "理论"]) == ["党史", "理论"]
    assert len(d.course_tags([f"t{i}" for i in range(20)])) == 20
    with pytest.raises(InvalidArgument) as e:
        d.course_tags([f"t{i}" for i in range(21)])
    assert code_of(e) == "course_too_many_tags"
    with pytest.raises(InvalidArgument) as e:
        d.course_tags(["x" * 21])
    assert code_of(e) == "course_tag_too_long"
    with pytest.raises(InvalidArgument) as e:
        d.course_tags([" "])
    assert code_of(e) == "course_tag_empty"


def test_class_hours_and_summary_bounds():
    assert d.class_hours(0) == 0 and d.class_hours(150) == 150
    for bad in (-1, 100_001):
        with pytest.raises(InvalidArgument):
            d.class_hours(bad)
    assert d.course_summary("") == ""
    with pytest.raises(InvalidArgument):
        d.course_summary("x" * 2001)


# ---- status ----


@pytest.mark.parametrize(
    ("action", "status", "target"),
    [
        ("submit", "draft", "in_review"),
        ("approve", "in_review", "published"),
        ("reject", "in_review", "draft"),
        ("archive", "published", "archived"),
        ("archive", "draft", "archived"),
        ("revise", "published", "draft"),
        ("revise", "archived", "draft"),
    ],
)
def test_allowed_transitions(action, status, target):
    assert d.transition(action, status) == target


@pytest.mark.parametrize(
    ("action", "status"),
    [("submit", "in_review"), ("approve", "draft"), ("reject", "published"), ("revise", "draft"),
     ("archive", "archived"), ("submit", "published")],
)  # fmt: skip
def test_refused_transitions(action, status):
    with pytest.raises(FailedPrecondition) as e:
        d.transition(action, status)
    assert code_of(e) == f"course_cannot_{action}"


def test_only_drafts_are_editable():
    d.require_editable("draft")
    for status in ("in_review", "published", "archived"):
        with pytest.raises(FailedPrecondition) as e:
            d.require_editable(status)
        assert code_of(e) == "course_not_editable"


def test_the_submitter_never_approves():
    d.check_reviewer("alice", "bob")
    with pytest.raises(PermissionDenied) as e:
        d.check_reviewer("alice", "alice")
    assert code_of(e) == "course_review_by_submitter"


def test_submission_needs_content_and_every_file():
    text = d.ItemContent(
        "rich_text", "导读", has_body=True, has_url=False, has_ready_material=False
    )
    empty_text = d.ItemContent("rich_text", "空", False, False, False)
    video = d.ItemContent("video", "视频一", False, False, has_ready_material=True)
    no_video = d.ItemContent("video", "视频二", False, False, has_ready_material=False)
    d.check_submittable([text, empty_text])
    d.check_submittable([video])
    with pytest.raises(FailedPrecondition) as e:
        d.check_submittable([empty_text])
    assert code_of(e) == "course_without_content"
    with pytest.raises(FailedPrecondition) as e:
        d.check_submittable([])
    assert code_of(e) == "course_without_content"
    with pytest.raises(FailedPrecondition) as e:
        d.check_submittable([text, no_video])
    assert code_of(e) == "course_material_missing" and "视频二" in e.value.message


# ---- items ----


def test_fields_belong_to_their_item_kind():
    assert d.item_body("rich_text", "<p>正文</p>") == "<p>正文</p>"
    assert d.item_url("link", " https://www.12371.cn/ ") == "https://www.12371.cn/"
    assert d.item_length("video", 600) == 600 and d.item_length("link", 0) == 0
    with pytest.raises(InvalidArgument) as e:
        d.item_body("video", "<p>x</p>")
    assert code_of(e) == "item_body_not_used"
    with pytest.raises(InvalidArgument) as e:
        d.item_url("rich_text", "https://x.cn")
    assert code_of(e) == "item_url_not_used"
    with pytest.raises(InvalidArgument) as e:
        d.item_length("rich_text", 10)
    assert code_of(e) == "item_length_not_used"
    with pytest.raises(InvalidArgument):
        d.item_length("video", -1)
    with pytest.raises(InvalidArgument) as e:
        d.item_kind("quiz")
    assert code_of(e) == "item_kind_invalid"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://x.cn/a", "//x.cn/a", "/relative", "https://", "http://a b.cn",
     "data:text/html,hi", "https://x.cn/\x00", ""],
)  # fmt: skip
def test_links_are_absolute_http_only(url):
    with pytest.raises(InvalidArgument) as e:
        d.external_url(url)
    assert code_of(e) == "item_url_invalid"


def test_http_and_https_links_are_kept():
    assert d.external_url("http://dangshi.people.com.cn/") == "http://dangshi.people.com.cn/"
    assert d.external_url("HTTPS://X.CN/a?b=1") == "HTTPS://X.CN/a?b=1"


def test_a_length_cannot_cut_off_a_checkpoint():
    d.check_length_covers(100, [10, 100])
    d.check_length_covers(0, [])
    with pytest.raises(InvalidArgument):
        d.check_length_covers(0, [5])  # "unknown" would leave the checkpoint outside
    with pytest.raises(InvalidArgument) as e:
        d.check_length_covers(50, [10, 60])
    assert code_of(e) == "item_length_below_checkpoint"


# ---- rich text ----


def test_sanitiser_drops_scripts_handlers_and_unknown_tags():
    dirty = (
        '<p onclick="steal()" style="color:red">学习<script>alert("x")</script>'
        '<strong>要点</strong></p><iframe src="https://evil"></iframe>'
        '<img src=x onerror=alert(1)><div class="c">正文</div><!-- note -->'
    )
    assert d.sanitize_html(dirty) == "<p>学习<strong>要点</strong></p>正文"


def test_sanitiser_keeps_safe_links_only():
    out = d.sanitize_html(
        '<a href="https://www.12371.cn/" target="_blank" onmouseover="x()">共产党员网</a>'
        '<a href="javascript:alert(1)">坏</a><a href="jav&#x09;ascript:alert(1)">坏</a>'
        '<a href="&#106;avascript:alert(1)">坏</a><a href="mailto:a@b.cn">信</a>'
    )
    assert out == (
        '<a href="https://www.12371.cn/" rel="noopener noreferrer nofollow">共产党员网</a>'
        '<a>坏</a><a>坏</a><a>坏</a><a href="mailto:a@b.cn" rel="noopener noreferrer nofollow">信</a>'
    )


def test_sanitiser_escapes_text_and_closes_tags():
    assert d.sanitize_html("1 < 2 & <b>粗<i>斜") == "1 &lt; 2 &amp; <b>粗<i>斜</i></b>"
    assert d.sanitize_html("</p>孤立<br/><hr>") == "孤立<br><hr>"
    assert d.sanitize_html("&lt;script&gt;") == "&lt;script&gt;"
    assert d.sanitize_html("<style>p{}</style><svg><script>x</script></svg>文") == "文"
    assert d.sanitize_html('<td colspan="2" onclick="x">a</td>') == '<td colspan="2">a</td>'
    assert d.sanitize_html('<a href="https://x.cn/?a=1&b="2">q</a>').startswith(
        '<a href="https://x.cn/?a=1&amp;b="'
    )


def test_sanitiser_never_emits_an_event_handler():
    attempts = [
        "<p/onload=alert(1)>", "<svg/onload=alert(1)>", '<a href="x" onfocus=alert(1) autofocus>',
        "<scr<script>ipt>alert(1)</script>", "<<p>p onclick=alert(1)>",
        "<p\nonclick=alert(1)>", "<math><mi xlink:href=javascript:alert(1)>",
    ]  # fmt: skip
    for attempt in attempts:
        out = d.sanitize_html(attempt)
        tags = _parsed(out)
        assert all(t in d.ALLOWED_TAGS for t, _ in tags), (attempt, out)
        for _, attrs in tags:
            assert all(not name.startswith("on") for name, _ in attrs), (attempt, out)
            assert all("javascript" not in (v or "").lower() for _, v in attrs), (attempt, out)


def _parsed(markup: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The start tags a browser-like parser sees in `markup`."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    parser = Collect()
    parser.feed(markup)
    parser.close()
    return found


# ---- checkpoints ----


def _cp(**overrides):
    values = dict(item_kind="video", item_length=600, position=120, kind="single",
                  prompt="党的二十大在哪一年召开？", options=["2021", "2022", "2023"], answer=[1],
                  explanation="2022年10月")  # fmt: skip
    values.update(overrides)
    return d.checkpoint(**values)


def test_a_valid_checkpoint():
    cp = _cp()
    assert cp.answer == [1] and cp.options == ["2021", "2022", "2023"] and cp.position == 120
    assert _cp(kind="multiple", answer=[2, 0]).answer == [0, 2]
    assert _cp(kind="true_false", options=["对", "错"], answer=[0]).kind == "true_false"
    assert _cp(position=600).position == 600 and _cp(position=0).position == 0


@pytest.mark.parametrize(
    ("overrides", "error", "code"),
    [
        (dict(position=601), InvalidArgument, "checkpoint_position_invalid"),
        (dict(position=-1), InvalidArgument, "checkpoint_position_invalid"),
        (dict(item_length=0), FailedPrecondition, "checkpoint_item_without_length"),
        (dict(item_kind="rich_text"), FailedPrecondition, "checkpoint_item_kind"),
        (dict(kind="essay"), InvalidArgument, "checkpoint_kind_invalid"),
        (dict(prompt=" "), InvalidArgument, "checkpoint_prompt_required"),
        (dict(options=["只有一个"], answer=[0]), InvalidArgument, "checkpoint_options_count"),
        (dict(options=[str(i) for i in range(11)]), InvalidArgument, "checkpoint_options_count"),
        (dict(options=["a", "a"], answer=[0]), InvalidArgument, "checkpoint_options_duplicate"),
        (dict(options=["a", ""], answer=[0]), InvalidArgument, "checkpoint_option_required"),
        (dict(answer=[3]), InvalidArgument, "checkpoint_answer_invalid"),
        (dict(answer=[-1]), InvalidArgument, "checkpoint_answer_invalid"),
        (dict(answer=[1, 1]), InvalidArgument, "checkpoint_answer_invalid"),
        (dict(answer=[]), InvalidArgument, "checkpoint_answer_count"),
        (dict(answer=[0, 1]), InvalidArgument, "checkpoint_answer_count"),
        (dict(kind="true_false", answer=[0]), InvalidArgument, "checkpoint_options_count"),
        (dict(kind="true_false", options=["对", "错"], answer=[0, 1]), InvalidArgument,
         "checkpoint_answer_count"),
        (dict(kind="multiple", answer=[]), InvalidArgument, "checkpoint_answer_count"),
    ],
)  # fmt: skip
def test_invalid_checkpoints(overrides, error, code):
    with pytest.raises(error) as e:
        _cp(**overrides)
    assert code_of(e) == code


# ---- materials ----


def test_content_types_fit_the_item_kind():
    assert d.material_content_type("video", "Video/MP4; codecs=avc1") == "video/mp4"
    assert d.material_content_type("audio", "audio/mpeg") == "audio/mpeg"
    assert d.material_content_type("document", "application/pdf") == "application/pdf"
    for kind, bad in (("video", "audio/mpeg"), ("document", "text/html"), ("audio", "")):
        with pytest.raises(InvalidArgument) as e:
            d.material_content_type(kind, bad)
        assert code_of(e) == "material_type_not_allowed"
    with pytest.raises(FailedPrecondition) as e:
        d.material_content_type("link", "application/pdf")
    assert code_of(e) == "material_item_kind"


def test_sizes_and_digests():
    assert d.material_size(1, 10) == 1 and d.material_size(10, 10) == 10
    with pytest.raises(InvalidArgument) as e:
        d.material_size(11, 10)
    assert code_of(e) == "material_too_large"
    with pytest.raises(InvalidArgument) as e:
        d.material_size(0, 10)
    assert code_of(e) == "material_empty"
    assert d.material_sha256("AB" * 32) == "ab" * 32 and d.material_sha256("") == ""
    with pytest.raises(InvalidArgument) as e:
        d.material_sha256("abc")
    assert code_of(e) == "material_sha256_invalid"


def test_file_names_become_safe_key_segments():
    assert d.display_filename("C:\\Users\\王\\二十大报告.pdf") == "二十大报告.pdf"
    assert d.display_filename("../../etc/passwd") == "passwd"
    assert d.safe_filename("学习 材料(第1版).PDF") == "学习_材料_第1版_.PDF"
    assert d.safe_filename("...") == "file"
    long = d.safe_filename("党" * 100 + ".mp4")
    assert long.endswith(".mp4") and len(long.encode()) <= d.MAX_KEY_FILENAME_BYTES
    with pytest.raises(InvalidArgument) as e:
        d.display_filename(" / ")
    assert code_of(e) == "material_filename_required"
    t, c, i = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert d.object_key(t, c, i, 3, "a b.mp4") == f"learning/{t}/{c}/{i}/v3/a_b.mp4"


def test_upload_plans():
    mib = 1024 * 1024
    assert d.upload_plan(16 * mib, 16 * mib) == d.UploadPlan(False, 0, 0)
    assert d.upload_plan(16 * mib + 1, 16 * mib) == d.UploadPlan(True, 16 * mib, 2)
    huge = d.upload_plan(10_001 * 5 * mib, 5 * mib)  # would need 10,001 parts of 5 MiB
    assert huge.multipart and huge.part_count <= d.MAX_PARTS
    assert huge.part_bytes * huge.part_count >= 10_001 * 5 * mib


def test_part_numbers():
    assert d.part_numbers([3, 1, 3], 3) == [1, 3]
    for bad in ([], [0], [4], list(range(1, 102))):
        with pytest.raises(InvalidArgument) as e:
            d.part_numbers(bad, 200 if len(bad) > 100 else 3)
        assert code_of(e) == "material_part_numbers_invalid"


# ---- audiences ----


def _aud(index=0, **overrides):
    values = dict(kind="tenant", org_id="", role="", learner_id="", required=True, due_on="")
    values.update(overrides)
    return d.audience(**values, index=index)


def test_audiences():
    org = uuid.uuid4()
    assert _aud().kind == "tenant" and _aud().org_id is None
    sub = _aud(kind="org_subtree", org_id=str(org), due_on="2026-12-31")
    assert sub.org_id == org and str(sub.due_on) == "2026-12-31"
    assert _aud(kind="role", role="secretary").role == "secretary"
    assert _aud(kind="learner", learner_id=" acc-1 ").learner_id == "acc-1"
    cases = [
        (dict(kind="everyone"), "audience_kind_invalid"),
        (dict(kind="org_subtree", org_id="x"), "audience_org_invalid"),
        (dict(kind="role", role="platform_admin"), "audience_role_invalid"),
        (dict(kind="learner", learner_id=""), "audience_learner_invalid"),
        (dict(due_on="2026-13-01"), "audience_due_on_invalid"),
    ]
    for overrides, code in cases:
        with pytest.raises(InvalidArgument) as e:
            _aud(index=2, **overrides)
        assert code_of(e) == code and e.value.field.startswith("audiences[2]")


def test_duplicate_audiences_are_refused():
    d.check_audiences([_aud(), _aud(kind="role", role="member")])
    with pytest.raises(InvalidArgument) as e:
        d.check_audiences([_aud(kind="role", role="member"), _aud(kind="role", role="member",
                                                                  required=False)])  # fmt: skip
    assert code_of(e) == "audience_duplicate"
    with pytest.raises(InvalidArgument):
        d.share_mode("everyone")
    assert d.share_mode("required") == "required"
