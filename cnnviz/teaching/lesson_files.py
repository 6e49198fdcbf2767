"""Lessons as data: one TOML file per section of the lab, read and checked at start-up.

A lesson file (``lessons/*.toml``, or ``$CNNVIZ_LESSONS_DIR``) holds a title, an
order, a one-line summary and a list of ``[[steps]]``. A step is a few
sentences of Markdown, optionally a live view (a page of the app, and for the
explorer its settings as the link's query), and optionally a question
template (a :mod:`cnnviz.teaching.quiz` kind, narrowed by a variant). Everything is
checked when the files are read; the first problem raises
:class:`LessonError` naming the file and the field, e.g.
``convolution.toml, steps[2].question.kind: 'shape' is not a question kind; ...``.

``python -m cnnviz.teaching.lesson_files`` checks every file and lists the lessons (exit
status 1 on a problem), so a teacher can test an edit without starting the app.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnviz.explorer import layer2d
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.page_list import page_path
from cnnviz.teaching import quiz

LESSONS_DIR_ENV = "CNNVIZ_LESSONS_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "lessons"
LESSON_VIEWS = ("explorer", "explorer1d", "network", "draw", "train")  # the views a step may open
PAGES = {name: page_path(name) for name in LESSON_VIEWS}  # name -> the page's file, as st.page_link wants it
MAX_LESSONS = 50  # lesson files read at most
MAX_STEPS = 30  # steps per lesson
MAX_TITLE = 80  # characters in a lesson or step title
MAX_TEXT = 4000  # characters in a step's text
MAX_FILE_BYTES = 200_000  # a lesson file larger than this is refused unread

LESSON_KEYS = {"title", "order", "summary", "lab_section", "steps"}
STEP_KEYS = {"title", "text", "view", "question"}
VIEW_KEYS = {"page", "label", "query"}
QUESTION_KEYS = {"kind", "variant"}


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class View:
    """A page of the app set up for a step."""

    page: str  # one of PAGES
    label: str  # the link's text
    query: tuple[tuple[str, str], ...] = ()  # the explorer's settings, as its link carries them

    @property
    def page_file(self) -> str:
        return PAGES[self.page]

    @property
    def url(self) -> str:
        """The relative link, e.g. ``/explorer?k=5&s=2``."""
        from urllib.parse import urlencode

        return f"/{self.page}" + (f"?{urlencode(self.query)}" if self.query else "")


@dataclass(frozen=True)
class QuestionTemplate:
    """Which kind of question a step asks; the numbers come from a seed."""

    kind: str  # one of cnnviz.teaching.quiz.KINDS
    variant: str | None = None  # one of that kind's variants, or None for all of them


@dataclass(frozen=True)
class Step:
    """One screen of a lesson."""

    title: str  # shown above the text
    text: str  # Markdown: a few sentences
    view: View | None = None  # the live view, or None
    question: QuestionTemplate | None = None  # the question, or None


@dataclass(frozen=True)
class Lesson:
    """One section of the lab, as a sequence of steps."""

    slug: str  # the file name without .toml: the lesson's id in links and in the class database
    title: str  # shown in the lesson picker
    order: int  # lessons are listed by order, then slug
    summary: str  # one line under the title
    lab_section: str  # which part of the lab it follows, e.g. "1.2 The Convolution"
    steps: tuple[Step, ...]  # at least one


def lessons_dir() -> Path:
    """Where lesson files are read: ``$CNNVIZ_LESSONS_DIR``, default ``lessons/`` in the repository."""
    return Path(os.environ.get(LESSONS_DIR_ENV) or DEFAULT_DIR).expanduser()


def _fail(path: Path, field: str, problem: str) -> LessonError:
    return LessonError(f"{path.name}, {field}: {problem}" if field else f"{path.name}: {problem}")


def _text(path: Path, field: str, value: Any, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(path, field, f"must be a non-empty text in quotes, got {value!r}.")
    if len(value) > limit:
        raise _fail(path, field, f"is {len(value)} characters long; at most {limit} are allowed.")
    return value.strip()


def _unknown(path: Path, field: str, table: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        where = f"{field}." if field else ""
        raise _fail(path, f"{where}{extra[0]}", f"is not a known field; use {', '.join(sorted(allowed))}.")


def _view(path: Path, field: str, raw: Any) -> View:
    if not isinstance(raw, dict):
        raise _fail(path, field, 'must be a table like { page = "explorer", query = { k = 5 } }.')
    _unknown(path, field, raw, VIEW_KEYS)
    page = raw.get("page")
    if page not in PAGES:
        raise _fail(path, f"{field}.page", f"{page!r} is not a page; use one of {', '.join(PAGES)}.")
    label = _text(path, f"{field}.label", raw.get("label"), MAX_TITLE, required=False) or f"Open the {page}"
    query = raw.get("query", {})
    if not isinstance(query, dict):
        raise _fail(path, f"{field}.query", "must be a table of settings like { k = 5, s = 2 }.")
    if query and page != "explorer":
        raise _fail(path, f"{field}.query", f"only the explorer keeps its settings in the link, not the {page}.")
    if not query:
        return View(page, label)
    known = set(layer2d.QUERY_KEYS.values())
    for key, value in query.items():
        if key not in known:
            raise _fail(path, f"{field}.query.{key}", f"is not an explorer setting; use {', '.join(sorted(known))}.")
        if not isinstance(value, (str, int, float, bool)):
            raise _fail(path, f"{field}.query.{key}", f"must be a number, a word or true/false, got {value!r}.")
    as_text = {k: ("1" if v else "0") if isinstance(v, bool) else str(v) for k, v in query.items()}
    settings, problems = layer2d.from_query(as_text)
    if problems:
        raise _fail(path, f"{field}.query", problems[0])
    try:
        layer2d.analyze(settings)
    except InvalidLayerConfig as error:
        raise _fail(path, f"{field}.query", f"the explorer would show an impossible layer: {error}") from None
    return View(page, label, tuple(layer2d.to_query(settings).items()))


def _question(path: Path, field: str, raw: Any) -> QuestionTemplate:
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, dict):
        raise _fail(
            path, field, 'must be a kind in quotes or a table like { kind = "output_shape", variant = "Conv2d" }.'
        )
    _unknown(path, field, raw, QUESTION_KEYS)
    kind, variant = raw.get("kind"), raw.get("variant")
    if kind not in quiz.KINDS:
        raise _fail(path, f"{field}.kind", f"{kind!r} is not a question kind; use one of {', '.join(quiz.KINDS)}.")
    if variant is not None and variant not in quiz.VARIANTS[kind]:
        allowed = ", ".join(quiz.VARIANTS[kind]) or "none (leave variant out)"
        raise _fail(path, f"{field}.variant", f"{variant!r} is not a variant of {kind}; use {allowed}.")
    template = QuestionTemplate(kind, variant)
    try:  # prove the template generates (a digit question may lack MNIST here: still a valid template)
        quiz.make_question(kind, 0, variant)
    except quiz.QuizUnavailable:
        pass
    return template


def parse_lesson(path: Path, data: dict[str, Any]) -> Lesson:
    """A :class:`Lesson` from a file's parsed TOML; raises LessonError naming the field."""
    _unknown(path, "", data, LESSON_KEYS)
    title = _text(path, "title", data.get("title"), MAX_TITLE)
    order = data.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        raise _fail(path, "order", f"must be a whole number, got {order!r}.")
    summary = _text(path, "summary", data.get("summary"), MAX_TEXT, required=False)
    lab_section = _text(path, "lab_section", data.get("lab_section"), MAX_TITLE, required=False)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _fail(path, "steps", "a lesson needs at least one [[steps]] table.")
    if len(raw_steps) > MAX_STEPS:
        raise _fail(path, "steps", f"has {len(raw_steps)} steps; at most {MAX_STEPS} are allowed.")
    steps = []
    for number, raw in enumerate(raw_steps, start=1):
        field = f"steps[{number}]"
        if not isinstance(raw, dict):
            raise _fail(path, field, "must be a [[steps]] table.")
        _unknown(path, field, raw, STEP_KEYS)
        steps.append(
            Step(
                title=_text(path, f"{field}.title", raw.get("title"), MAX_TITLE),
                text=_text(path, f"{field}.text", raw.get("text"), MAX_TEXT),
                view=_view(path, f"{field}.view", raw["view"]) if "view" in raw else None,
                question=_question(path, f"{field}.question", raw["question"]) if "question" in raw else None,
            )
        )
    return Lesson(path.stem, title, order, summary, lab_section, tuple(steps))


def load_lesson(path: str | os.PathLike) -> Lesson:
    """Read and check one lesson file.

    Raises:
        LessonError: unreadable TOML or a wrong field; the message names the file and the field.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _fail(path, "", f"is larger than {MAX_FILE_BYTES:,} bytes; a lesson is a few steps of text.")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise _fail(path, "", f"is not valid TOML ({error}).") from None
    except UnicodeDecodeError:
        raise _fail(path, "", "is not UTF-8 text.") from None
    except OSError as error:
        raise _fail(path, "", f"cannot be read ({error.strerror}).") from None
    return parse_lesson(path, data)


def load_lessons(folder: str | os.PathLike | None = None) -> tuple[Lesson, ...]:
    """Every ``*.toml`` lesson in ``folder`` (default :func:`lessons_dir`), by order then slug.

    Raises:
        LessonError: the first file with a problem, or a folder without lessons.
    """
    root = Path(folder) if folder is not None else lessons_dir()
    paths = sorted(root.glob("*.toml"))
    if not paths:
        raise LessonError(f"no lesson files (*.toml) in {root}.")
    if len(paths) > MAX_LESSONS:
        raise LessonError(f"{root} holds {len(paths)} lesson files; at most {MAX_LESSONS} are read.")
    return tuple(sorted((load_lesson(p) for p in paths), key=lambda lesson: (lesson.order, lesson.slug)))


def folder_stamp(folder: str | os.PathLike | None = None) -> tuple[tuple[str, float, int], ...]:
    """Names, modification times and sizes of the lesson files: a cache key that changes with any edit."""
    root = Path(folder) if folder is not None else lessons_dir()
    stamps = []
    for path in sorted(root.glob("*.toml")):
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((path.name, stat.st_mtime, stat.st_size))
    return tuple(stamps)


def question_seed(lesson: Lesson, step_index: int, class_seed: int = 0) -> int:
    """The seed of a step's question: the same for everyone in a class, another in the next class."""
    digest = hashlib.sha256(f"{lesson.slug}|{step_index}|{class_seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def step_question(lesson: Lesson, step_index: int, class_seed: int = 0, attempt: int = 0) -> quiz.Question | None:
    """The question of step ``step_index`` for a class (``attempt`` > 0: another one for practice).

    Raises:
        cnnviz.teaching.quiz.QuizUnavailable: a digit question without MNIST or the shipped classifier.
    """
    template = lesson.steps[step_index].question
    if template is None:
        return None
    return quiz.make_question(template.kind, question_seed(lesson, step_index, class_seed) + attempt, template.variant)


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnviz.teaching.lesson_files [FOLDER]``: check the lesson files, list them; 1 on a problem."""
    args = sys.argv[1:] if argv is None else argv
    try:
        lessons = load_lessons(args[0] if args else None)
    except LessonError as error:
        print(f"Lesson problem: {error}", file=sys.stderr)
        return 1
    for lesson in lessons:
        questions = sum(step.question is not None for step in lesson.steps)
        print(f"{lesson.order:>4}  {lesson.slug}: {lesson.title} ({len(lesson.steps)} steps, {questions} questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
