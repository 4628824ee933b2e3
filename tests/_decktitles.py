"""The slide titles of a demo study's deck, from the session's shared run of its params file
(the report model the notebook records is what the deck is built from)."""

from __future__ import annotations

import re


def deck_titles(demo_reports, params_name: str) -> list[str]:
    """Titles of the slides of ``params/demo/<params_name>.yaml``'s deck, in order (the session's
    shared run of that params file, which builds the deck with the PDF)."""
    from pptx import Presentation

    res = demo_reports(params_name)
    assert res.status == "ok", res.error
    titles = []
    for slide in Presentation(str(res.files["pptx"])).slides:
        shape = slide.shapes.title
        if shape is None or not shape.text_frame.text.strip():  # a title drawn in a text box
            shape = next((s for s in slide.shapes if s.has_text_frame and s.text_frame.text.strip()), None)
        titles.append(re.sub(r"\s+", " ", shape.text_frame.text).strip() if shape is not None else "")
    return titles


def plain(text: str) -> str:
    """A finding as a slide shows it: no Markdown bold, one space between words, no closing stop."""
    return re.sub(r"\s+", " ", text.replace("**", "")).strip().rstrip(".。")


def shown(titles: list[str], finding: str) -> bool:
    """Whether a slide is titled with ``finding`` (a long one may be cut at a clause end, the rest
    going to the slide's body)."""
    f = plain(finding)
    return any(t and f.startswith(plain(t)) and len(plain(t)) >= min(len(f), 12) for t in titles)


def _head_pattern(template: str):
    """A regular expression for the start of a sentence made from ``template`` (its fields any
    text): the part before its first clause end, which a title cut to fit keeps."""
    head = re.split(r"; |；|: |：", template)[0]
    return re.compile(".+?".join(re.escape(p) for p in re.split(r"\{\w+\}", head)))


def titled(titles: list[str], lang: str, *keys: str) -> list[str]:
    """The titles that are sentences of one of the i18n ``keys`` (the findings' templates)."""
    from workbench.narrative import strings

    words = strings()
    pats = [_head_pattern(words[k][lang]) for k in keys]
    return [t for t in titles if any(p.match(plain(t)) for p in pats)]


def labels_absent(titles: list[str], lang: str, *keys: str) -> list[str]:
    """The i18n ``keys`` whose text (a heading or a caption, a label) still titles a slide before
    the appendix."""
    from workbench.narrative import strings

    words = strings()
    body = titles[:titles.index(words["deck.appendix"][lang])] if words["deck.appendix"][lang] in titles else titles
    shown_ = {plain(t) for t in body}  # the appendix's tables keep their captions
    return [k for k in keys if plain(words[k][lang]) in shown_]
