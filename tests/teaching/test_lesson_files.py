"""Lesson files: every template in every lesson generates and checks; broken files name the file and field."""

from __future__ import annotations

import pytest

from cnnviz.explorer import layer2d
from cnnviz.teaching import lesson_files, quiz

LESSONS = lesson_files.load_lessons()
SEEDS = range(30)  # classes (and practice attempts) per step


def templated_steps(digits: bool):
    for lesson in LESSONS:
        for index, step in enumerate(lesson.steps):
            if step.question is not None and (step.question.kind == quiz.SHIFTED_DIGIT) == digits:
                yield pytest.param(lesson, index, id=f"{lesson.slug}-{index + 1}")


def test_the_shipped_lessons_follow_the_lab():
    titles = [lesson.title for lesson in LESSONS]
    assert titles == [
        "The convolution", "Channels", "Pooling", "The residual block", "The classifier and its parameter count",
        "The autoencoder and its bottleneck", "Convolutions on sequences (1-D)",
    ]  # fmt: skip
    assert all(len(lesson.steps) >= 3 for lesson in LESSONS)
    kinds = {step.question.kind for lesson in LESSONS for step in lesson.steps if step.question}
    assert kinds == set(quiz.KINDS)  # every kind of question is used somewhere


@pytest.mark.parametrize(("lesson", "index"), list(templated_steps(digits=False)))
def test_every_template_generates_and_its_answer_checks(lesson, index):
    questions = [lesson_files.step_question(lesson, index, class_seed) for class_seed in SEEDS]
    for question in questions:
        assert quiz.check(question, question.answer_text).correct, question.text
    assert len({q.text for q in questions}) > 1  # a new class gets new numbers
    # the same for a room
    assert lesson_files.step_question(lesson, index, 3) == lesson_files.step_question(lesson, index, 3)


@pytest.mark.parametrize(("lesson", "index"), list(templated_steps(digits=True)))
def test_every_digit_template_generates_and_checks(lesson, index, mnist):
    question = lesson_files.step_question(lesson, index, 0)
    assert quiz.check(question, question.answer_text).correct


def test_explorer_views_carry_settings_the_explorer_reads_back():
    views = [step.view for lesson in LESSONS for step in lesson.steps if step.view and step.view.query]
    assert views
    for view in views:
        settings, problems = layer2d.from_query(dict(view.query))
        assert not problems and layer2d.to_query(settings) == dict(view.query)
        assert view.url.startswith("/explorer?")


GOOD = """
title = "Test lesson"
order = 9
[[steps]]
title = "One"
text = "Some words."
view = { page = "explorer", query = { k = 5 } }
question = { kind = "output_shape", variant = "Conv2d" }
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('title = "Test lesson"', ""), "broken.toml, title: must be a non-empty text"),
        (GOOD.replace('"output_shape"', '"shape"'), "broken.toml, steps[1].question.kind: 'shape' is not a question"),
        (GOOD.replace('"Conv2d"', '"Linear"'), "broken.toml, steps[1].question.variant: 'Linear' is not a variant"),
        (GOOD.replace('page = "explorer"', 'page = "home"'), "broken.toml, steps[1].view.page: 'home' is not a page"),
        (GOOD.replace("k = 5", "kk = 5"), "broken.toml, steps[1].view.query.kk: is not an explorer setting"),
        (GOOD.replace("k = 5", 'k = "big"'), "broken.toml, steps[1].view.query: The link's k='big'"),
        (GOOD.replace("k = 5", "k = 40, h = 28"), "broken.toml, steps[1].view.query: the explorer would show an imp"),
        (GOOD.replace('page = "explorer"', 'page = "draw"'), "steps[1].view.query: only the explorer keeps"),
        (GOOD.replace('text = "Some words."', 'txt = "Some words."'), "broken.toml, steps[1].txt: is not a known"),
        (GOOD.replace("order = 9", 'order = "first"'), "broken.toml, order: must be a whole number"),
        (GOOD.replace("[[steps]]", "[steps]"), "broken.toml, steps: a lesson needs at least one [[steps]]"),
        (GOOD.replace('"Some words."', '"' + "x" * 5000 + '"'), "steps[1].text: is 5000 characters long"),
        (GOOD + "\ntitle = 'again'", "broken.toml: is not valid TOML"),
    ],
)
def test_a_broken_lesson_names_the_file_and_the_field(tmp_path, text, message):
    (tmp_path / "broken.toml").write_text(text)
    with pytest.raises(lesson_files.LessonError) as caught:
        lesson_files.load_lessons(tmp_path)
    assert str(caught.value).startswith(message) or message in str(caught.value), str(caught.value)


def test_a_good_lesson_file_loads_and_a_teacher_can_check_a_folder(tmp_path, capsys):
    (tmp_path / "extra.toml").write_text(GOOD)
    (lesson,) = lesson_files.load_lessons(tmp_path)
    assert lesson.slug == "extra" and lesson.steps[0].view.url == "/explorer?k=5"
    assert lesson_files.main([str(tmp_path)]) == 0
    assert "extra: Test lesson (1 steps, 1 questions)" in capsys.readouterr().out
    (tmp_path / "zz.toml").write_text(GOOD.replace("[[steps]]", "[steps]"))
    assert lesson_files.main([str(tmp_path)]) == 1 and "zz.toml, steps" in capsys.readouterr().err
    assert lesson_files.main([str(tmp_path / "empty")]) == 1


def test_the_lessons_folder_can_be_moved(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(GOOD)
    monkeypatch.setenv(lesson_files.LESSONS_DIR_ENV, str(tmp_path))
    assert [lesson.slug for lesson in lesson_files.load_lessons()] == ["mine"]
    stamp = lesson_files.folder_stamp()
    (tmp_path / "mine.toml").write_text(GOOD + "\n# edited\n")
    assert lesson_files.folder_stamp() != stamp
