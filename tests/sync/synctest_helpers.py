"""Shared constants and helpers for the sync tests."""

RECIPIENT_T = "age1" + "q" * 58
RECIPIENT_C = "age1" + "p" * 58


def add_people(catalogue) -> tuple[dict, dict]:
    teacher = catalogue.add_person("Anna de Vries", "teacher", RECIPIENT_T)
    coach = catalogue.add_person("Bert Jansen", "coach", RECIPIENT_C)
    catalogue.assign(teacher["id"], coach["id"])
    return teacher, coach
