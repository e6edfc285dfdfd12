"""Post a hub form back exactly as a browser would, from the HTML the hub rendered.

A browser sends what the page holds: every enabled input with its `value`, checked boxes
and radios only, each select's selected options (a single select with none selected sends
its first option), and textareas' text. The tests build their POST data from the page
itself, so a form that renders less than it stores (an archived default plan missing from
its dropdown, a company's plan features) is caught the way a person would lose data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

SKIPPED_TYPES = {"submit", "button", "reset", "image", "file"}


@dataclass
class _Select:
    name: str
    multiple: bool
    options: list[tuple[str, bool]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self, form_attr: tuple[str, str | None], index: int) -> None:
        super().__init__(convert_charrefs=True)
        self.form_attr = form_attr
        self.index = index
        self.forms_seen = 0
        self.in_form = False
        self.disabled_depth = 0  # inside <fieldset disabled>
        self.fieldset_stack: list[bool] = []
        self.pairs: list[tuple[str, str]] = []
        self.select: _Select | None = None
        self.option_value: str | None = None
        self.option_selected = False
        self.option_text = ""
        self.textarea: str | None = None
        self.textarea_text = ""

    def _matches(self, attrs: dict[str, str | None]) -> bool:
        key, value = self.form_attr
        return key in attrs and (value is None or attrs[key] == value)

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        if tag == "form":
            if self._matches(attrs):
                self.in_form = self.forms_seen == self.index
                self.forms_seen += 1
            return
        if not self.in_form:
            return
        if tag == "fieldset":
            disabled = "disabled" in attrs
            self.fieldset_stack.append(disabled)
            self.disabled_depth += int(disabled)
            return
        if self.disabled_depth or "disabled" in attrs:
            if tag == "select":
                self.select = _Select(name="", multiple=False)
            return
        name = attrs.get("name") or ""
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if not name or kind in SKIPPED_TYPES:
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    value = (attrs["value"] or "") if "value" in attrs else "on"
                    self.pairs.append((name, value))
                return
            self.pairs.append((name, attrs.get("value") or ""))
        elif tag == "select":
            self.select = _Select(name=name, multiple="multiple" in attrs)
        elif tag == "option" and self.select is not None:
            self._close_option()
            self.option_value = attrs.get("value")
            self.option_selected = "selected" in attrs
            self.option_text = ""
        elif tag == "textarea" and name:
            self.textarea, self.textarea_text = name, ""

    def handle_data(self, data: str) -> None:
        if self.option_value is None and self.select is not None:
            self.option_text += data
        if self.textarea is not None:
            self.textarea_text += data

    def _close_option(self) -> None:
        if self.select is not None and (self.option_value is not None or self.option_text):
            value = self.option_value if self.option_value is not None else self.option_text
            self.select.options.append((value.strip(), self.option_selected))
        self.option_value, self.option_text, self.option_selected = None, "", False

    def handle_endtag(self, tag: str) -> None:
        if not self.in_form:
            return
        if tag == "form":
            self.in_form = False
        elif tag == "fieldset" and self.fieldset_stack:
            self.disabled_depth -= int(self.fieldset_stack.pop())
        elif tag == "option":
            self._close_option()
        elif tag == "select" and self.select is not None:
            self._close_option()
            select, self.select = self.select, None
            if not select.name:
                return
            chosen = [v for v, selected in select.options if selected]
            if not chosen and not select.multiple and select.options:
                chosen = [select.options[0][0]]
            sent = chosen if select.multiple else chosen[-1:]
            self.pairs.extend((select.name, v) for v in sent)
        elif tag == "textarea" and self.textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            text = self.textarea_text
            self.pairs.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea = None


def form_data(
    html: str | bytes, form: tuple[str, str | None] = ("method", "post"), index: int = 0
) -> dict[str, Any]:
    """The POST body of the `index`-th <form> carrying attribute `form` (name, and value or
    None for any value), as {name: value or [values]} for Django's test client."""
    text = html.decode() if isinstance(html, bytes) else html
    parser = _FormParser(form, index)
    parser.feed(text)
    assert parser.forms_seen > index, f"no <form {form[0]}={form[1]!r}> #{index} on the page"
    data: dict[str, Any] = {}
    for name, value in parser.pairs:
        if name in data:
            current = data[name]
            data[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            data[name] = value
    return data


def main_form_data(html: str | bytes) -> dict[str, Any]:
    """The POST body of the page's main form: the POST form with the most controls (not
    the layout's small logout or action forms)."""
    text = html.decode() if isinstance(html, bytes) else html
    forms: list[dict[str, Any]] = []
    while True:
        parser = _FormParser(("method", "post"), len(forms))
        parser.feed(text)
        if parser.forms_seen <= len(forms):
            break
        forms.append(form_data(text, index=len(forms)))
    assert forms, "no POST form on the page"
    return max(forms, key=len)


def posted(html: str | bytes, changes: dict[str, Any]) -> dict[str, Any]:
    """The main form's body with `changes` applied, as a person would edit it before
    submitting (a value of None unticks a box or drops the field)."""
    data = main_form_data(html)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data
