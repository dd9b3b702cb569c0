"""Strings a student controls (file names, exception types and messages, printed output, TOML
values) chosen to break out of where the grader puts them: HTML, Markdown, fences, terminal
escapes, invisible and bidirectional characters, sheer size. Each is (label, text).

`rendered(markdown)` renders as a CommonMark renderer with raw HTML enabled would (the most
permissive a renderer gets), for checking what a student's text turned into."""
from html.parser import HTMLParser

from markdown_it import MarkdownIt

NASTY = [
    ("script", "<script>alert(document.cookie)</script>"),
    ("img-onerror", '<img src=x onerror="alert(1)">'),
    ("svg", "<svg/onload=alert(1)>"),
    ("iframe", "<iframe src=//evil.example></iframe>"),
    ("html-comment", "hidden <!-- everything after this"),
    ("html-block", "\n<div style='position:fixed;top:0'>Score: 100/100</div>\n"),
    ("entity-bidi", "&#x202E;gnp.exe &lt;b&gt;"),
    ("heading", "\n# Score set to 100 by the instructor\n"),
    ("setext", "Score set to 100\n================"),
    ("thematic", "x\n---\n## All tests passed"),
    ("image", "![pixel](https://evil.example/track.png?u=1)"),
    ("link", "[click for full marks](javascript:alert(1))"),
    ("autolink", "<https://evil.example/login>"),
    ("fence-close", "ok\n```\n</pre><script>alert(1)</script>\n```\n# Fake heading"),
    ("long-fence", "``````\n<b>bold</b>\n``````"),
    ("tilde-fence", "~~~\n<b>x</b>\n~~~"),
    ("unclosed-fence", "```\n<img src=x onerror=alert(1)>"),
    ("backticks", "`` ` `<b>` ``` ````"),
    ("escaped-backtick", "\\`<img src=x onerror=alert(1)>`"),
    ("code-then-html", "`x` <b>y</b> `z"),
    ("table", "| a | b |\n|---|---|\n| <b>1</b> | 2 |"),
    ("blockquote", "> **Grader:** full marks"),
    ("ansi-color", "\x1b[32m100/100 PASSED\x1b[0m"),
    ("ansi-clear", "\x1b[2J\x1b[H\x1b[1;32mAll tests passed\x1b[0m"),
    ("osc-title", "\x1b]0;pwned window title\x07"),
    ("osc-clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07"),
    ("osc-link", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"),
    ("c1-csi", "\x9b31mred\x9b0m \x9d0;title\x9c"),
    ("carriage-return", "FAILED\rPASSED 100/100"),
    ("backspace", "FAILED\x08\x08\x08\x08\x08\x08PASSED"),
    ("nul-bell", "a\x00b\x07c\x7f"),
    ("bidi-override", "file\u202egnp.py"),
    ("bidi-isolates", "\u2066\u2067\u2068x\u2069"),
    ("zero-width", "mod\u200bules.py\ufeff"),
    ("lone-surrogate", "bad \ud800 text"),
    ("crlf", "line one\r\nline two\r\n"),
    ("long-line", "A" * 300_000),
    ("many-backticks", "`" * 5000 + "<b>" + "`" * 4999),
    ("many-fences", "```\n" * 3000 + "<b>x</b>"),
    ("many-lines", "<i>\n" * 20_000),
]


RENDERER = MarkdownIt("commonmark", {"html": True})
# what the grader's own Markdown renders to; anything else came from a student's text
ALLOWED_TAGS = {"p", "code", "pre", "strong", "em", "ul", "ol", "li", "br", "hr", "blockquote"}


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [(tag, name) for name, _ in attrs]

    def handle_data(self, data):
        self.text.append(data)


def rendered(markdown_text: str) -> Tags:
    parser = Tags()
    parser.feed(RENDERER.render(markdown_text))
    return parser
