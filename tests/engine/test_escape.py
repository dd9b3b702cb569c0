"""Every student-controlled string leaves through engine.escape: rendered by a CommonMark renderer
(markdown-it-py, raw HTML enabled, as permissive as a renderer gets), results.json's Markdown
holds only the markup the grader itself writes, shows quoted text literally, and no field or
terminal line carries a control, escape or bidirectional character."""
import io
import json

import pytest

from engine.escape import TerminalStream, block, code, is_plain, markdown, markdown_to_text, plain
from engine.messages import describe
from engine.remote import RemoteError
from engine.results import ResultsError, TestRecord, build_results, validate
from engine.unzip import Refusal, skipped_summary
from suite.backends import StudentError

from tests.engine.nasty import ALLOWED_TAGS, NASTY, rendered

def embeddings(text: str) -> dict[str, str]:
    """The ways the engine and the suite put student text into a test's output."""
    return {
        "exception": describe(RemoteError(text, text, text)),
        "exception-one-line": describe(RemoteError("ValueError", text[:80].replace("\n", " "), "")),
        "not-implemented": describe(RemoteError("NotImplementedError", text, "")),
        "file-name": Refusal((), text, "is a symbolic link; links are not accepted").message,
        "skipped": skipped_summary([text, "node_modules"]),
        "printed": f"**Your code printed:**\n\n{block(text)}",
        "suite-error": str(StudentError(text, "ValueError", text, text)),
        "careless-code": f"got `{text}` instead",          # a check quoting it without escape
        "careless-prose": f"- got {text} instead\n\n**Next:** fix it",
    }


@pytest.fixture(scope="module")
def results():
    records = []
    for label, text in NASTY:
        for way, output in embeddings(text).items():
            records.append(TestRecord(key=f"{label}:{way}", function=way, name=f"{label} {way}",
                                      max_score=1.0, outcome="failed", output=output))
    return build_results(records, mode="gradescope", notices=[f"- {t}" for _, t in NASTY])


def test_results_with_every_nasty_string_are_valid_json(results):
    json.loads(validate(results))
    assert len(results["tests"]) == len(NASTY) * len(embeddings("x"))


@pytest.mark.parametrize("label", [label for label, _ in NASTY])
def test_rendered_output_holds_only_the_graders_markup(results, label):
    for test in [t for t in results["tests"] if t["name"].startswith(label + " ")]:
        html = rendered(test["output"])
        assert html.tags <= ALLOWED_TAGS, (test["name"], html.tags - ALLOWED_TAGS)
        assert set(html.attrs) <= {("code", "class")}, (test["name"], html.attrs)
        assert is_plain(test["output"]), test["name"]
    top = rendered(results["output"])
    assert top.tags <= ALLOWED_TAGS and set(top.attrs) <= {("code", "class")}


@pytest.mark.parametrize("label,text", [(label, t) for label, t in NASTY if len(t) < 2000])
def test_quoted_student_text_is_shown_literally(label, text):
    shown = plain(text).strip()
    for way in ("exception", "printed", "suite-error"):
        output = markdown(embeddings(text)[way])
        assert shown in "".join(rendered(output).text), (way, output)
    one_line = " ".join(plain(text).split("\n")).strip()
    output = markdown(embeddings(text)["file-name"])
    assert one_line in "".join(rendered(output).text)


@pytest.mark.parametrize("label,text", NASTY)
def test_terminal_gets_no_control_escape_or_bidi_character(label, text):
    sink = io.StringIO()
    stream = TerminalStream(sink)
    for piece in (text, text[: len(text) // 2], text[len(text) // 2:]):   # cut sequences too
        stream.write(piece)
    assert is_plain(sink.getvalue()) and not stream.isatty()
    assert is_plain(markdown_to_text(markdown(f"got {text}")))


def test_code_and_block_fences_cannot_be_closed_from_inside():
    for text in ("a ` b", "``x``", "```", "x\n```\ny", "`" * 7):
        span = code(text)
        fence = span[: len(span) - len(span.lstrip("`"))]
        assert fence and fence not in span[len(fence):-len(fence)]
        lines = block(text).split("\n")
        assert lines[0] == lines[-1] and lines[0] not in "\n".join(lines[1:-1])
        assert len(lines[0]) > max((len(r) for r in text.split() if set(r) == {"`"}), default=0)


def test_plain_removes_whole_sequences_and_caps_length():
    assert plain("ok\x1b[31mred\x1b[0m \x1b]0;title\x07done\u202e") == "okred done"
    out = plain("x" * 1000 + "END", 200)
    assert len(out) <= 200 and out.endswith("END") and "cut" in out


def test_markdown_fields_are_capped_after_neutralising():
    out = markdown("<" * 100_000, 20_000)
    assert len(out) <= 20_000 and "&lt;" in out and out.endswith("&lt;")


def test_validate_refuses_a_string_that_did_not_leave_through_escape():
    good = build_results([TestRecord(key="k", function="f", name="t", max_score=1.0)],
                         mode="gradescope")
    good["tests"][0]["output"] = "fine \x1b[2J"
    with pytest.raises(ResultsError, match="escape"):
        validate(good)


def test_an_escape_sequence_left_open_does_not_swallow_the_lines_after_it():
    out = markdown("Your code raised: \x1b]0;no terminator\n\n**The grader says:** keep this")
    assert out.endswith("**The grader says:** keep this") and "no terminator" not in out
