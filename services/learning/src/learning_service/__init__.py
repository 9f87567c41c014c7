"""Hongyun learning service (学习): courses and materials, progress that measures understanding,
question banks and exams, training classes and class hours (学时)."""
