"""Pure rules of courses and their materials (docs/adr/0018).

- Sizes: title ≤ 200, summary ≤ 2000, ≤ 20 tags of ≤ 20 characters, class hours 0–1000 h.
- A course is edited only as a draft; submit (draft → in_review) needs at least one item with
  content and every video/audio/document item uploaded; approve (in_review → published,
  version + 1) or reject (→ draft, with a note); archive; revise (published/archived → draft,
  item ids kept so progress stays meaningful).
- Two-person rule (ADR-ready). Context: a published course reaches every member of its
  audience, and of descendant tenants when shared down, under the organisation's name; study
  material is political content where a single mistake or a compromised account does real harm.
  Decision: publishing takes two people — the approver (a tenant admin) is never the person who
  submitted the course (the user id is compared; PermissionDenied course_review_by_submitter).
  Consequences: a tenant needs two admins to publish (a one-admin tenant gets a second reviewer
  account, or a parent tenant shares its courses down); rejecting one's own submission is allowed
  (it only withdraws it); revising a published course needs a new review.
- Rich text is sanitised to a small allow-list of tags; links are http(s) only.
- A checkpoint sits within its item's length (seconds or pages); single and true/false questions
  have exactly one answer, true/false exactly two options.
- Uploaded files: the content type must fit the item kind; large files go in parts.

Raises hongyun_platform.errors with stable codes; no I/O.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urlsplit

from hongyun_platform.errors import FailedPrecondition, InvalidArgument, PermissionDenied

MAX_TITLE = 200
MAX_SUMMARY = 2000
MAX_TAGS = 20
MAX_TAG = 20
MAX_CLASS_HOURS_HUNDREDTHS = 100_000  # 1000 hours: matches the table's check constraint
MAX_BODY = 100_000  # characters of sanitised HTML
MAX_URL = 2000
MAX_LENGTH = 1_000_000  # seconds (11 days of video) or pages
MAX_PROMPT = 1000
MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_OPTION = 200
MAX_EXPLANATION = 2000
MAX_NOTE = 500
MAX_AUDIENCES = 200
MAX_LEARNER_ID = 64
MAX_FILENAME = 255
MAX_KEY_FILENAME_BYTES = 120  # the object key's last segment (the store allows 250)
MAX_PARTS = 10_000  # S3's limit of parts in one multipart upload
MAX_PART_URLS = 100  # part URLs per request

STATUSES = ("draft", "in_review", "published", "archived")
SHARE_MODES = ("none", "optional", "required")
ITEM_KINDS = ("video", "audio", "document", "rich_text", "link")
MATERIAL_KINDS = ("video", "audio", "document")
AUDIENCE_KINDS = ("tenant", "org_subtree", "role", "learner")
AUDIENCE_ROLES = ("member", "secretary", "tenant_admin")
CHECKPOINT_KINDS = ("single", "multiple", "true_false")

# Technical allow-list of what browsers and players open, by item kind (not a domain rule).
MATERIAL_TYPES: dict[str, frozenset[str]] = {
    "video": frozenset({"video/mp4", "video/webm", "video/ogg", "video/quicktime"}),
    "audio": frozenset(
        {
            "audio/mpeg",
            "audio/mp4",
            "audio/aac",
            "audio/ogg",
            "audio/webm",
            "audio/wav",
            "audio/x-wav",
            "audio/x-m4a",
            "audio/flac",
        }
    ),
    "document": frozenset(
        {
            "application/pdf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.presentation",
        }
    ),
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


# ---- text fields ----


def _text(
    value: str, *, max_len: int, code: str, field: str, label: tuple[str, str],
    required: bool = True,
) -> str:  # fmt: skip
    """Stripped text; `label` is (中文, English) for the messages."""
    zh, en = label
    value = (value or "").strip()
    if required and not value:
        raise InvalidArgument(f"{zh}不能为空 ({en} is required)", code=f"{code}_required",
                              field=field)  # fmt: skip
    if len(value) > max_len:
        raise InvalidArgument(
            f"{zh}不能超过 {max_len} 个字符 ({en}: at most {max_len} characters)",
            code=f"{code}_too_long",
            field=field,
        )
    if _CONTROL.search(value.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise InvalidArgument(f"{zh}含有控制字符 ({en} contains control characters)",
                              code=f"{code}_invalid", field=field)  # fmt: skip
    return value


def course_title(value: str) -> str:
    return _text(value, max_len=MAX_TITLE, code="course_title", field="title",
                 label=("课程标题", "course title"))  # fmt: skip


def course_summary(value: str) -> str:
    return _text(value, max_len=MAX_SUMMARY, code="course_summary", field="summary",
                 label=("课程简介", "summary"), required=False)  # fmt: skip


def course_tags(values: Iterable[str]) -> list[str]:
    """Stripped, duplicates dropped (first kept), order kept."""
    out: list[str] = []
    for raw in values:
        tag = (raw or "").strip()
        if not tag:
            raise InvalidArgument("标签不能为空 (a tag is empty)", code="course_tag_empty",
                                  field="tags")  # fmt: skip
        if len(tag) > MAX_TAG or _CONTROL.search(tag):
            raise InvalidArgument(
                f"标签不能超过 {MAX_TAG} 个字符 (a tag has at most {MAX_TAG} characters)",
                code="course_tag_too_long", field="tags",
            )  # fmt: skip
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidArgument(f"标签最多 {MAX_TAGS} 个 (at most {MAX_TAGS} tags)",
                              code="course_too_many_tags", field="tags")  # fmt: skip
    return out


def class_hours(value: int) -> int:
    if not 0 <= value <= MAX_CLASS_HOURS_HUNDREDTHS:
        raise InvalidArgument(
            "学时应在 0 到 1000 小时之间 (class hours must be between 0 and 1000)",
            code="course_class_hours_invalid", field="class_hours",
        )  # fmt: skip
    return value


def chapter_title(value: str) -> str:
    return _text(value, max_len=MAX_TITLE, code="chapter_title", field="title",
                 label=("章节标题", "chapter title"))  # fmt: skip


def review_note(value: str) -> str:
    return _text(value, max_len=MAX_NOTE, code="course_review_note", field="note",
                 label=("退回意见", "review note"))  # fmt: skip


# ---- course status ----


def require_editable(status: str) -> None:
    if status != "draft":
        raise FailedPrecondition(
            "只有草稿状态的课程可以修改，已发布的课程请先修订 (only a draft course can be edited; "
            "revise a published course first)",
            code="course_not_editable",
        )


_TRANSITIONS = {
    "submit": ({"draft"}, "in_review"),
    "approve": ({"in_review"}, "published"),
    "reject": ({"in_review"}, "draft"),
    "archive": ({"draft", "in_review", "published"}, "archived"),
    "revise": ({"published", "archived"}, "draft"),
}
_ACTION_LABEL = {
    "submit": "提交审核 (submit for review)",
    "approve": "审核通过 (approve)",
    "reject": "退回 (reject)",
    "archive": "归档 (archive)",
    "revise": "修订 (revise)",
}
_STATUS_LABEL = {
    "draft": "草稿 (draft)",
    "in_review": "审核中 (in review)",
    "published": "已发布 (published)",
    "archived": "已归档 (archived)",
}


def transition(action: str, status: str) -> str:
    """The status after `action`, or FailedPrecondition course_status_<status>."""
    allowed, target = _TRANSITIONS[action]
    if status not in allowed:
        raise FailedPrecondition(
            f"课程当前为{_STATUS_LABEL[status]}，不能{_ACTION_LABEL[action]} "
            f"(a {status} course cannot be {action}d)",
            code=f"course_cannot_{action}",
        )
    return target


def check_reviewer(submitted_by: str, reviewer: str) -> None:
    """The two-person rule: whoever submitted a course does not approve or reject it."""
    if submitted_by and submitted_by == reviewer:
        raise PermissionDenied(
            "不能审核自己提交的课程，请由另一位管理员审核 (the submitter cannot review the "
            "course; another administrator must)",
            code="course_review_by_submitter",
        )


@dataclass(frozen=True)
class ItemContent:
    """What submission needs to know of an item."""

    kind: str
    title: str
    has_body: bool
    has_url: bool
    has_ready_material: bool

    @property
    def has_content(self) -> bool:
        if self.kind in MATERIAL_KINDS:
            return self.has_ready_material
        return self.has_body if self.kind == "rich_text" else self.has_url


def check_submittable(items: Sequence[ItemContent]) -> None:
    if not any(i.has_content for i in items):
        raise FailedPrecondition(
            "课程至少需要一个有内容的条目才能提交 (a course needs at least one item with content)",
            code="course_without_content",
        )
    missing = [i.title for i in items if i.kind in MATERIAL_KINDS and not i.has_ready_material]
    if missing:
        names = "、".join(missing[:5])
        raise FailedPrecondition(
            f"以下条目尚未上传文件：{names} (these items have no uploaded file yet)",
            code="course_material_missing",
        )


# ---- items ----


def item_kind(value: str) -> str:
    if value not in ITEM_KINDS:
        raise InvalidArgument("条目类型无效 (unknown item kind)", code="item_kind_invalid",
                              field="kind")  # fmt: skip
    return value


def item_title(value: str) -> str:
    return _text(value, max_len=MAX_TITLE, code="item_title", field="title",
                 label=("条目标题", "item title"))  # fmt: skip


def item_length(kind: str, value: int) -> int:
    if kind not in MATERIAL_KINDS:
        if value:
            raise InvalidArgument(
                "只有音视频和文档条目有时长或页数 (only video, audio and document items have a "
                "length)", code="item_length_not_used", field="length",
            )  # fmt: skip
        return 0
    if not 0 <= value <= MAX_LENGTH:
        raise InvalidArgument(
            f"时长或页数应在 0 到 {MAX_LENGTH} 之间 (length must be between 0 and {MAX_LENGTH})",
            code="item_length_invalid", field="length",
        )  # fmt: skip
    return value


def item_body(kind: str, value: str) -> str:
    if kind != "rich_text":
        if value:
            raise InvalidArgument("只有图文条目有正文 (only rich_text items have a body)",
                                  code="item_body_not_used", field="body")  # fmt: skip
        return ""
    body = sanitize_html(value or "")
    if len(body) > MAX_BODY:
        raise InvalidArgument(
            f"正文不能超过 {MAX_BODY} 个字符 (the body has at most {MAX_BODY} characters)",
            code="item_body_too_long", field="body",
        )  # fmt: skip
    return body


def item_url(kind: str, value: str) -> str:
    if kind != "link":
        if value:
            raise InvalidArgument("只有外部链接条目有网址 (only link items have a url)",
                                  code="item_url_not_used", field="url")  # fmt: skip
        return ""
    return external_url(value)


def external_url(value: str) -> str:
    url = (value or "").strip()
    bad = InvalidArgument(
        "链接必须是 http:// 或 https:// 开头的完整网址 (a link must be an absolute http(s) URL)",
        code="item_url_invalid", field="url",
    )  # fmt: skip
    if not url or len(url) > MAX_URL or _CONTROL.search(url) or " " in url:
        raise bad
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise bad
    return url


# ---- rich text ----

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "b", "em", "i", "u", "s", "sub", "sup", "span", "h2", "h3", "h4",
    "blockquote", "ul", "ol", "li", "a", "code", "pre", "table", "thead", "tbody", "tr", "th",
    "td",
})  # fmt: skip
VOID_TAGS = frozenset({"br", "hr"})
# Elements whose content is dropped with them, not shown as text.
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math",
    "textarea", "select", "title", "head", "frameset", "noembed", "xmp",
})  # fmt: skip
_LINK_SCHEMES = ("http", "https", "mailto")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping: list[str] = []  # a dropped element's tag and its nested same-name tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag == self.skipping[0]:
                self.skipping.append(tag)
            return
        if tag in DROPPED_WITH_CONTENT:
            self.skipping.append(tag)
            return
        if tag not in ALLOWED_TAGS:
            return
        self.out.append(f"<{tag}{_attributes(tag, attrs)}>")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping or tag in DROPPED_WITH_CONTENT or tag not in ALLOWED_TAGS:
            return
        self.out.append(f"<{tag}{_attributes(tag, attrs)}>")
        if tag not in VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[0]:
                self.skipping.pop()
            return
        if tag not in self.open:
            return  # a stray end tag
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        self.out.extend(f"</{t}>" for t in reversed(self.open))
        self.open.clear()
        return "".join(self.out).strip()


def _attributes(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    out = []
    for name, value in attrs:
        value = (value or "").strip()
        if tag == "a" and name == "href" and _safe_link(value):
            out.append(f'href="{html.escape(value, quote=True)}"')
        elif tag == "a" and name == "title" and value:
            out.append(f'title="{html.escape(value[:200], quote=True)}"')
        elif tag in ("td", "th") and name in ("colspan", "rowspan") and value.isdigit():
            out.append(f'{name}="{min(int(value), 100)}"')
    if tag == "a" and out:
        out.append('rel="noopener noreferrer nofollow"')
    return "".join(f" {a}" for a in out)


def _safe_link(value: str) -> bool:
    # urlsplit drops tabs and newlines (as browsers do), so "java\tscript:" is seen as javascript.
    cleaned = _CONTROL.sub("", value)
    scheme = urlsplit(cleaned).scheme.lower()
    return bool(cleaned) and scheme in _LINK_SCHEMES and cleaned == value


def sanitize_html(value: str) -> str:
    """Keep an allow-list of tags (ALLOWED_TAGS) and of attributes (a href/title with http(s) or
    mailto links, table cell spans); drop scripts, styles, frames and their content, comments,
    event handlers and every other attribute; keep the text of other tags; close open tags."""
    parser = _Sanitizer()
    parser.feed(value)
    return parser.result()


# ---- checkpoints ----


@dataclass(frozen=True)
class CheckpointSpec:
    position: int
    kind: str
    prompt: str
    options: list[str]
    answer: list[int]
    explanation: str


def checkpoint(
    *,
    item_kind: str,
    item_length: int,
    position: int,
    kind: str,
    prompt: str,
    options: Sequence[str],
    answer: Sequence[int],
    explanation: str,
) -> CheckpointSpec:
    if item_kind not in MATERIAL_KINDS:
        raise FailedPrecondition(
            "只有音视频和文档条目可以设置检查点 (checkpoints belong to video, audio and document "
            "items)", code="checkpoint_item_kind",
        )  # fmt: skip
    if item_length <= 0:
        raise FailedPrecondition(
            "请先设置条目的时长或页数 (set the item's length first)",
            code="checkpoint_item_without_length",
        )
    if not 0 <= position <= item_length:
        raise InvalidArgument(
            f"检查点位置应在 0 到 {item_length} 之间 (the position must be within the item's "
            f"length, 0–{item_length})", code="checkpoint_position_invalid", field="position",
        )  # fmt: skip
    if kind not in CHECKPOINT_KINDS:
        raise InvalidArgument("题型无效 (unknown question kind)", code="checkpoint_kind_invalid",
                              field="kind")  # fmt: skip
    prompt = _text(prompt, max_len=MAX_PROMPT, code="checkpoint_prompt", field="prompt",
                   label=("题目", "prompt"))  # fmt: skip
    opts = [
        _text(o, max_len=MAX_OPTION, code="checkpoint_option", field="options",
              label=("选项", "option"))
        for o in options
    ]  # fmt: skip
    if kind == "true_false" and len(opts) != 2:
        raise InvalidArgument("判断题必须恰好有两个选项 (a true/false question has exactly two "
                              "options)", code="checkpoint_options_count", field="options")  # fmt: skip
    if not MIN_OPTIONS <= len(opts) <= MAX_OPTIONS:
        raise InvalidArgument(
            f"选项应有 {MIN_OPTIONS} 到 {MAX_OPTIONS} 个 (between {MIN_OPTIONS} and "
            f"{MAX_OPTIONS} options)", code="checkpoint_options_count", field="options",
        )  # fmt: skip
    if len(set(opts)) != len(opts):
        raise InvalidArgument("选项不能重复 (options must differ)",
                              code="checkpoint_options_duplicate", field="options")  # fmt: skip
    chosen = sorted(set(answer))
    if len(chosen) != len(answer) or any(not 0 <= a < len(opts) for a in chosen):
        raise InvalidArgument(
            "答案应是不重复的选项序号 (answers are distinct indexes of the options)",
            code="checkpoint_answer_invalid", field="answer",
        )  # fmt: skip
    if not chosen or (kind in ("single", "true_false") and len(chosen) != 1):
        raise InvalidArgument(
            "单选题和判断题只有一个答案，多选题至少一个 (single and true/false questions have "
            "exactly one answer, multiple-choice at least one)",
            code="checkpoint_answer_count", field="answer",
        )  # fmt: skip
    explanation = _text(explanation, max_len=MAX_EXPLANATION, code="checkpoint_explanation",
                        field="explanation", label=("解析", "explanation"), required=False)  # fmt: skip
    return CheckpointSpec(position, kind, prompt, opts, chosen, explanation)


def check_length_covers(length: int, positions: Iterable[int]) -> None:
    """An item's length may not cut off one of its checkpoints."""
    last = max(positions, default=0)
    if last > length:
        raise InvalidArgument(
            f"已有检查点位于 {last}，时长或页数不能更短 (a checkpoint sits at {last}; the length "
            "cannot be shorter)", code="item_length_below_checkpoint", field="length",
        )  # fmt: skip


# ---- materials ----


def material_content_type(item_kind: str, value: str) -> str:
    """The media type without parameters, lower case, if allowed for the item kind."""
    media = (value or "").split(";", 1)[0].strip().lower()
    if item_kind not in MATERIAL_KINDS:
        raise FailedPrecondition(
            "只有音视频和文档条目可以上传文件 (only video, audio and document items take a file)",
            code="material_item_kind",
        )
    if media not in MATERIAL_TYPES[item_kind]:
        allowed = ", ".join(sorted(MATERIAL_TYPES[item_kind]))
        raise InvalidArgument(
            f"此类条目不接受 {media or '未知'} 类型的文件 (content type not allowed for a "
            f"{item_kind} item; allowed: {allowed})",
            code="material_type_not_allowed", field="content_type",
        )  # fmt: skip
    return media


def material_size(size: int, max_bytes: int) -> int:
    if size <= 0:
        raise InvalidArgument("文件为空 (the file is empty)", code="material_empty",
                              field="size_bytes")  # fmt: skip
    if size > max_bytes:
        raise InvalidArgument(
            f"文件超过上限 {max_bytes} 字节 (the file exceeds the limit of {max_bytes} bytes)",
            code="material_too_large", field="size_bytes",
        )  # fmt: skip
    return size


def material_sha256(value: str) -> str:
    value = (value or "").strip().lower()
    if value and not _SHA256.match(value):
        raise InvalidArgument("sha256 应为 64 位十六进制 (sha256 must be 64 hex digits)",
                              code="material_sha256_invalid", field="sha256")  # fmt: skip
    return value


def display_filename(value: str) -> str:
    name = _CONTROL.sub("", (value or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not name or name in (".", ".."):
        raise InvalidArgument("文件名不能为空 (the file name is required)",
                              code="material_filename_required", field="filename")  # fmt: skip
    return name[:MAX_FILENAME]


def safe_filename(display: str) -> str:
    """A key segment: letters (any script), digits, '.', '-', '_' only; the extension kept."""
    name = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", display)).strip("._") or "file"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = MAX_KEY_FILENAME_BYTES - len(suffix.encode())
    while len(stem.encode()) > budget:
        stem = stem[:-1]
    return f"{stem or 'file'}{suffix}"


def object_key(
    tenant_id: uuid.UUID, course_id: uuid.UUID, item_id: uuid.UUID, version: int, filename: str
) -> str:
    return f"learning/{tenant_id}/{course_id}/{item_id}/v{version}/{safe_filename(filename)}"


@dataclass(frozen=True)
class UploadPlan:
    multipart: bool
    part_bytes: int  # 0 for a single PUT
    part_count: int  # 0 for a single PUT


def upload_plan(size: int, part_bytes: int) -> UploadPlan:
    """One PUT when the file fits one part; else parts of `part_bytes` (grown so that at most
    MAX_PARTS are needed)."""
    if size <= part_bytes:
        return UploadPlan(False, 0, 0)
    part = max(part_bytes, math.ceil(size / MAX_PARTS))
    return UploadPlan(True, part, math.ceil(size / part))


def part_numbers(numbers: Sequence[int], part_count: int) -> list[int]:
    if not numbers or len(numbers) > MAX_PART_URLS:
        raise InvalidArgument(
            f"一次可请求 1 到 {MAX_PART_URLS} 个分片 (ask for 1 to {MAX_PART_URLS} parts at once)",
            code="material_part_numbers_invalid", field="part_numbers",
        )  # fmt: skip
    if any(not 1 <= n <= part_count for n in numbers):
        raise InvalidArgument(
            f"分片序号应在 1 到 {part_count} 之间 (part numbers are 1–{part_count})",
            code="material_part_numbers_invalid", field="part_numbers",
        )  # fmt: skip
    return sorted(set(numbers))


# ---- audiences and sharing ----


@dataclass(frozen=True)
class AudienceSpec:
    kind: str
    org_id: uuid.UUID | None = None
    role: str | None = None
    learner_id: str | None = None
    required: bool = False
    due_on: date | None = None

    @property
    def target(self) -> tuple[str, str]:
        return self.kind, str(self.org_id or self.role or self.learner_id or "")


def audience(
    *, kind: str, org_id: str, role: str, learner_id: str, required: bool, due_on: str, index: int
) -> AudienceSpec:
    field = f"audiences[{index}]"
    if kind not in AUDIENCE_KINDS:
        raise InvalidArgument("受众类型无效 (unknown audience kind)", code="audience_kind_invalid",
                              field=f"{field}.kind")  # fmt: skip
    due = None
    if due_on:
        try:
            due = date.fromisoformat(due_on)
        except ValueError:
            raise InvalidArgument("截止日期格式应为 YYYY-MM-DD (due_on must be YYYY-MM-DD)",
                                  code="audience_due_on_invalid", field=f"{field}.due_on") from None  # fmt: skip
    if kind == "tenant":
        return AudienceSpec(kind, required=required, due_on=due)
    if kind == "org_subtree":
        try:
            org = uuid.UUID(org_id)
        except ValueError:
            raise InvalidArgument("组织编号无效 (org_id is not a valid id)",
                                  code="audience_org_invalid", field=f"{field}.org_id") from None  # fmt: skip
        return AudienceSpec(kind, org_id=org, required=required, due_on=due)
    if kind == "role":
        if role not in AUDIENCE_ROLES:
            raise InvalidArgument(
                f"角色应为 {', '.join(AUDIENCE_ROLES)} 之一 (role must be one of "
                f"{', '.join(AUDIENCE_ROLES)})", code="audience_role_invalid",
                field=f"{field}.role",
            )  # fmt: skip
        return AudienceSpec(kind, role=role, required=required, due_on=due)
    learner = (learner_id or "").strip()
    if not learner or len(learner) > MAX_LEARNER_ID:
        raise InvalidArgument("学员编号无效 (learner_id is required, at most 64 characters)",
                              code="audience_learner_invalid", field=f"{field}.learner_id")  # fmt: skip
    return AudienceSpec(kind, learner_id=learner, required=required, due_on=due)


def check_audiences(specs: Sequence[AudienceSpec]) -> None:
    if len(specs) > MAX_AUDIENCES:
        raise InvalidArgument(f"受众最多 {MAX_AUDIENCES} 条 (at most {MAX_AUDIENCES} audiences)",
                              code="audience_too_many", field="audiences")  # fmt: skip
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        if spec.target in seen:
            raise InvalidArgument("受众重复 (an audience is listed twice)",
                                  code="audience_duplicate", field="audiences")  # fmt: skip
        seen.add(spec.target)


def share_mode(value: str) -> str:
    if value not in SHARE_MODES:
        raise InvalidArgument("共享方式无效 (unknown sharing mode)", code="course_share_invalid",
                              field="shared_down")  # fmt: skip
    return value
