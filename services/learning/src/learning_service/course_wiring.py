"""Wiring of the course area into the learning service process: CourseService."""

from __future__ import annotations

from hongyun.learning.v1 import learning_courses_pb2_grpc

from learning_service import course_models, course_search  # noqa: F401 - tables known at runtime
from learning_service.course_service import Courses, MaterialLimits
from learning_service.course_servicer import SERVICE_NAME, CourseServicer
from learning_service.wiring import Parts, Wired


def wire(parts: Parts) -> Wired:
    s = parts.settings
    limits = MaterialLimits(
        max_bytes=s.material_max_bytes,
        part_bytes=s.material_part_bytes,
        upload_url_seconds=s.material_upload_url_seconds,
        download_url_seconds=s.material_download_url_seconds,
    )
    course_search.warm_up()  # jieba's dictionary, once per process
    courses = Courses(parts.store, limits)
    return Wired(
        services=[
            (
                learning_courses_pb2_grpc.add_CourseServiceServicer_to_server,
                CourseServicer(parts.db, courses, after_commit=parts.after_commit),
                SERVICE_NAME,
            )
        ]
    )
