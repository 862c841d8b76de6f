"""Find personal data in text and replace it with typed placeholders (``--mask-pii``).

Structured identifiers (e-mail addresses, URLs, social-media handles, crypto wallets,
IBANs, card and phone numbers) are found by regular expressions; person names by a
spaCy :class:`~spacy.matcher.Matcher` over the blank English tokenizer: a given name
from ``pii_terms.toml``, or any capitalised word after a title ("Inspector"), a role
("the defendant,"), an introducer ("known as"), at a chat line's speaker tag or in a
byline; the capitalised words that follow are the rest of the name. A name found once
is masked wherever else it occurs in the same document. An installed spaCy pipeline
with an entity recognizer (``[pii] ner_model``) adds its PERSON entities; none is
required.

Masking runs on outputs, after classification, so labels never change. Offsets in
records keep pointing into the original document: the masked text of a sentence is
``text[start:end]`` with each piece of personal data replaced, so its length may differ
from ``end - start``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

import tomllib

from pipeline.errors import PipelineError

#: What can be masked, in the order overlapping finds are settled (earlier wins).
KINDS = ("EMAIL", "URL", "WALLET", "IBAN", "CARD", "PHONE", "HANDLE", "NAME")
#: The most tokens a name spans ("Maria dos Santos Lima"); a longer run of capitalised
#: words (a tag list in an ad) is cut, which keeps the search linear.
MAX_NAME_TOKENS = 6
#: Text longer than this is searched for names in pieces (the spaCy tokenizer's cost
#: grows with piece length on long unbroken text).
PIECE_CHARS = 100_000

_NOT_URL_END = ".,;:!?)]}'\"’”"
#: Platforms whose name, a colon or dash, then a word give a handle ("IG: kira.x").
_PLATFORMS = ("ig|insta|instagram|snap|snapchat|sc|telegram|tg|kik|wechat|wickr|skype|signal|"
              "tiktok|twitter|threads|facebook|fb|onlyfans|discord|viber|line|session|threema|"
              "wire|zalo|imo|whatsapp|wa")
_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "EMAIL": [re.compile(
        r"(?<![\w.+-])[\w.%+-]+(?:@|\s?[\[({]at[\])}]\s?)[^\W_][\w-]*(?:\.[^\W_][\w-]*)*"
        r"\.[^\W\d_]{2,24}\b"),
              # written out against scrapers: "anna (at) gmail (dot) com", "anna at gmail dot com"
              re.compile(r"(?<![\w.+-])[\w.%+-]+\s*(?:[\[({]at[\])}]|\sat\s)\s*[^\W_][\w-]*"
                         r"(?:\s*(?:[\[({]dot[\])}]|\sdot\s|\.)\s*[^\W_][\w-]*)*"
                         r"\s*(?:[\[({]dot[\])}]|\sdot\s)\s*(?:com|net|org|info|biz|io|me|co|uk|"
                         r"eu|ru|ro|de|fr|it|es|nl|pl|ng|in)\b", re.IGNORECASE)],
    "URL": [re.compile(r"\b(?:https?://|hxxps?://|ftp://|www\.)[^\s<>\"']+", re.IGNORECASE),
            # defanged, as analysts write them: "evil[.]com", "example(.)org"
            re.compile(r"(?<![\w-])[\w-]+(?:(?:\[\.\]|\(\.\)|\[dot\])[\w-]+)+"
                       r"(?:/[^\s<>\"']*)?",
                       re.IGNORECASE),
            # any domain followed by a path ("linktr.ee/kira"), else a known top level
            re.compile(r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}/[^\s<>\"']*",
                       re.IGNORECASE),
            re.compile(
                r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|net|org|info|biz|io|"
                r"me|ly|co|uk|eu|ru|ro|ng|gh|ke|de|fr|it|es|nl|pl|bg|ua|al|rs|md|vn|th|ph|in|"
                r"cn|br|mx|onion|link|site|online|xyz|top|club|app|gg|to|cc|tv|ws|su|cam|"
                r"live|chat|vip|dating|escort|sex|xxx|porn)\b(?:/[^\s<>\"']*)?",
                re.IGNORECASE)],
    "WALLET": [re.compile(r"\b(?:bc1|tb1|ltc1)[a-z0-9]{20,90}\b", re.IGNORECASE),
               re.compile(r"\b0x[a-fA-F0-9]{40}\b"),
               # base58 and similar: long runs mixing digits, upper and lower case
               re.compile(r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])"
                          r"[A-Za-z0-9]{25,110}\b")],
    "IBAN": [re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b",
                        re.IGNORECASE)],
    "CARD": [re.compile(r"(?<![\d+])[2-6]\d{3}([ -]?)\d{4}\1\d{4}\1\d{1,7}(?![\d])"),
             re.compile(r"(?<![\d+])3\d{3}[ -]\d{6}[ -]\d{5}(?!\d)")],
    "PHONE": [re.compile(r"(?<![\w+/.,-])(?:\+|00)?\(?\d[\d \t().\-]{5,24}\d(?![\w/]|[.,]\d)"),
              # an unbroken run after a comma or dot ("0721234567,0722345678", "tel.072...")
              re.compile(r"(?<![\w+])(?:\+|00|0)\d{8,14}(?!\d)")],
    "HANDLE": [re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,38}[A-Za-z0-9_])?"),
               re.compile(rf"\b(?:{_PLATFORMS})\b"
                          r"\s*(?:id|name|handle|user(?:name)?)?(?:\s*[:=]|\s+[\-–—])\s*@?"
                          rf"(?!(?:{_PLATFORMS})\b)"
                          r"(?P<value>[A-Za-z0-9_][A-Za-z0-9_.\-]*[A-Za-z0-9_])",
                          re.IGNORECASE),
               # "my telegram is kira_x", "kik kira99": a handle-shaped word (with a digit,
               # "_" or ".") right after a platform's name
               re.compile(rf"\b(?:{_PLATFORMS})\b\s*(?:is|:|-)?\s*"
                          r"(?P<value>(?=[A-Za-z0-9_.]*[A-Za-z])(?=[A-Za-z0-9_.]*[\d_.][A-Za-z0-9_])"
                          r"[A-Za-z0-9_][A-Za-z0-9_.]*[A-Za-z0-9_])", re.IGNORECASE)],
}
_DATE = re.compile(r"(?:19|20)\d\d[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d\d")
_SPACED_DATE = re.compile(r"^\d{1,2}[ ./-]\d{1,2}[ ./-](?:19|20)\d\d$")  # "12 03 2021"
_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_CITED_YEAR = re.compile(r"\d\s*\(\s*(?:19|20)\d\d\)?$")  # "Resolution 2331 (2016)"
_YEARS = re.compile(r"(?:(?:19|20)\d\d[\s\-–]*){2,}")
_MONEY_BEFORE = re.compile(r"(?:€|£|\$|¥|₦|\b(?:eur|usd|gbp|ron|ngn|btc|eth|usdt|chf))\s*$",
                           re.IGNORECASE)
_MONEY_AFTER = re.compile(r"^\s*(?:€|£|%|\$|(?:eur|euro|euros|usd|dollars?|gbp|pounds?|ron|lei|"
                          r"naira|ngn|btc|eth|usdt|xmr|chf|francs?|people|persons|victims|"
                          r"users|accounts|messages|views|followers)\b)", re.IGNORECASE)
_NAMEY = r"^(?=.*[a-zß-ÿā-ž])[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_]*(?:['’][^\W\d_]+)*$"
_PUNCT_BEFORE_NAME = {",", ":", "-", "–", "—"}
_QUOTES = {"\"", "'", "“", "‘", "«", "„"}
_LIST_JOINS = {",", "and", "&", "or", ";"}
_NOT_INITIALS = {"U.S.", "U.K.", "E.U.", "U.N.", "A.M.", "P.M.", "N.B.", "P.S.", "E.G.",
                 "I.E.", "V.", "VS.", "NO.", "ST."}
_SURNAME_CAPS = re.compile(r"^(?=.*[AEIOUY])[A-Z'’\-]{3,}$")
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*$")
_SENTENCE_END = {".", "!", "?", "…", ":", ";", "\"", "“", "”", "'", "(", "[", "-", "–", "—"}


def check_kinds(kinds: Sequence[str]) -> None:
    """Refuse a kind of personal data the masker does not know."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise PipelineError(f"pii.kinds: unknown kind(s) {', '.join(unknown)} "
                            f"(known: {', '.join(KINDS)})")


@dataclass(frozen=True, order=True)
class PiiSpan:
    """One piece of personal data: characters ``start:end`` of a text, and its kind."""

    start: int
    end: int
    kind: str

    @property
    def placeholder(self) -> str:
        return f"[{self.kind}]"


def _terms() -> dict[str, list[str]]:
    raw = resources.files("pipeline.text").joinpath("pii_terms.toml").read_text("utf-8")
    return tomllib.loads(raw)


class PiiMasker:
    """Finds personal data (:meth:`find`) and masks it (:meth:`mask`, :meth:`mask_spans`).

    Parameters
    ----------
    kinds : what to mask, a subset of :data:`KINDS`.
    names : extra given names or surnames to mask wherever they occur capitalised.
    keep : extra capitalised words never to mask as names (places, organisations).
    ner_model : an installed spaCy pipeline whose PERSON entities are masked as names too;
        "" (the default) uses the patterns alone.
    phone_digits : the fewest and most digits a phone number has.
    """

    def __init__(self, *, kinds: Sequence[str] = KINDS, names: Sequence[str] = (),
                 keep: Sequence[str] = (), ner_model: str = "",
                 phone_digits: tuple[int, int] = (7, 15)) -> None:
        check_kinds(kinds)
        self.kinds = tuple(k for k in KINDS if k in kinds)
        self.names = tuple(names)
        self.keep = tuple(keep)
        self.ner_model = ner_model
        self.phone_digits = tuple(phone_digits)

    @classmethod
    def from_config(cls, settings: Any) -> PiiMasker:
        """The masker of a config's ``[pii]`` section (:class:`pipeline.config.Pii`)."""
        return cls(kinds=settings.kinds, names=settings.names, keep=settings.keep,
                   ner_model=settings.ner_model, phone_digits=settings.phone_digits)

    def load(self) -> PiiMasker:
        """Build the word lists, the matcher and any named pipeline now, so that a bad
        setting fails before work starts (otherwise they are built on first use, once
        per process)."""
        _ = self._matcher, self._ner
        return self

    # -- word lists and spaCy objects, built on first use (workers build their own) --

    @cached_property
    def _lists(self) -> dict[str, frozenset[str]]:
        terms = _terms()
        word_names = frozenset(terms["word_names"])
        extra = {n.lower() for n in self.names}
        return {"given": frozenset(terms["given_names"]) - word_names | extra,
                "word_names": word_names - extra,
                "keep": frozenset(terms["keep"]) | {k.lower() for k in self.keep},
                "never": frozenset(k.lower() for k in self.keep),  # the user's: always wins
                "honorifics": frozenset(terms["honorifics"]),
                "roles": frozenset(terms["roles"]),
                "particles": frozenset(terms["particles"]),
                "place_words": frozenset(terms["place_words"]),
                "place_prefixes": frozenset(terms["place_prefixes"]),
                "introducers": frozenset(terms["introducers"])}

    @cached_property
    def _english(self) -> frozenset[str]:
        """Lower-case English words (the lookup lemmatizer's table): a speaker tag that is
        one ("Recruiter:") is not a name."""
        from pipeline.text.preprocess import lemma_table

        table = lemma_table("en")
        return frozenset(table) | frozenset(table.values())

    @cached_property
    def _tokenizer(self) -> Any:
        import spacy

        return spacy.blank("en").tokenizer

    @cached_property
    def _matcher(self) -> Any:
        from spacy.matcher import Matcher

        lists = self._lists
        cap = {"TEXT": {"REGEX": _NAMEY}}
        after = {"ORTH": {"IN": sorted(_PUNCT_BEFORE_NAME)}, "OP": "?"}
        quote = {"ORTH": {"IN": sorted(_QUOTES)}, "OP": "?"}
        titles = sorted(lists["honorifics"] | {f"{h}." for h in lists["honorifics"]})
        matcher = Matcher(self._tokenizer.vocab)
        matcher.add("TITLE", [[{"LOWER": {"IN": titles}}, {"ORTH": ".", "OP": "?"}, cap]])
        matcher.add("ROLE", [[{"LOWER": {"IN": sorted(lists["roles"])}}, after, quote, cap]])
        pronoun = {"LOWER": {"IN": ["him", "her", "them", "me", "us", "himself", "herself"]},
                   "OP": "?"}  # 'called him "Big Papa"'
        matcher.add("INTRO", [[*({"LOWER": t.lower_} for t in self._tokenizer(phrase)),
                               pronoun, after, quote, cap]
                              for phrase in sorted(lists["introducers"])])
        caps = {"TEXT": {"REGEX": r"^[A-Z][A-Z'’\-]+$"}}
        matcher.add("CAPS", [[{"LOWER": {"IN": sorted(lists["given"])}, **caps},
                              {**caps, "OP": "{1,3}"}]], greedy="LONGEST")  # "ANNA KOVAC"
        matcher.add("TITLECAPS", [[{"LOWER": {"IN": titles}}, {"ORTH": ".", "OP": "?"},
                                   caps]])  # "MS KOVAC"
        matcher.add("GIVEN", [[{"LOWER": {"IN": sorted(lists["given"])}, **cap}]])
        matcher.add("WORDNAME", [[{"LOWER": {"IN": sorted(lists["word_names"])}, **cap}]])
        matcher.add("BYLINE", [[{"ORTH": "By"}, cap]])
        particle = {"LOWER": {"IN": sorted(lists["particles"])}, "OP": "?"}
        matcher.add("INITIALS", [[{"TEXT": {"REGEX": r"^(?:[A-Z]\.){1,3}$"}}, particle, cap]])
        matcher.add("UPPER", [[{"TEXT": {"REGEX": r"^[A-Z][A-Z'’\-]+$"}}, {"ORTH": ","}, cap]])
        age = {"TEXT": {"REGEX": r"^\d{1,2}$"}}
        matcher.add("AGE", [[cap, {**cap, "OP": "{1,3}"}, {"ORTH": ","}, age,
                             {"ORTH": {"IN": [",", ".", ";"]}}],
                            [cap, {**cap, "OP": "{1,3}"}, {"ORTH": "("}, age, {"ORTH": ")"}]],
                    greedy="LONGEST")
        return matcher

    @cached_property
    def _ner(self) -> Any:
        if not self.ner_model:
            return None
        import spacy

        try:
            nlp = spacy.load(self.ner_model)
        except (OSError, ImportError, ValueError) as err:
            raise PipelineError(f"pii.ner_model: cannot load spaCy pipeline "
                                f"{self.ner_model!r} ({err}); install it, or set "
                                "ner_model = \"\" to mask names by patterns alone") from None
        if "ner" not in nlp.pipe_names:
            raise PipelineError(f"pii.ner_model: {self.ner_model!r} has no entity "
                                "recognizer ('ner'); name one that has")
        return nlp

    # -- finding --

    def find(self, text: str) -> list[PiiSpan]:
        """Every piece of personal data in ``text``, sorted and not overlapping."""
        chosen: list[PiiSpan] = []
        taken = _Taken()
        for kind in self.kinds:
            if kind == "NAME":
                continue
            for span in self._structured(text, kind):
                if taken.free(span.start, span.end):
                    taken.add(span.start, span.end)
                    chosen.append(span)
        if "NAME" in self.kinds:
            for start, end in self._names(text):
                if taken.free(start, end):
                    taken.add(start, end)
                    chosen.append(PiiSpan(start, end, "NAME"))
        return sorted(chosen)

    def _structured(self, text: str, kind: str) -> Iterable[PiiSpan]:
        for pattern in _PATTERNS[kind]:
            for m in pattern.finditer(text):
                group = "value" if "value" in pattern.groupindex else 0
                start, end = m.span(group)
                found = m.group(group)
                if kind == "URL":
                    stripped = found.rstrip(_NOT_URL_END)
                    end -= len(found) - len(stripped)
                    found = stripped
                elif kind == "CARD" and _YEARS.fullmatch(found):
                    continue  # "2015-2016-2017-2018"
                elif kind == "PHONE":
                    found, end = _trim_phone(found, end)
                    if not self._is_phone(text, start, end, found):
                        continue
                elif kind == "HANDLE" and group == "value" and (
                        not any(c.isalpha() for c in found)
                        or found.lower() in self._lists["keep"]):
                    continue
                if end > start:
                    yield PiiSpan(start, end, kind)

    def _is_phone(self, text: str, start: int, end: int, found: str) -> bool:
        digits = sum(c.isdigit() for c in found)
        least, most = self.phone_digits
        if (not least <= digits <= most or _DATE.search(found) or _YEARS.fullmatch(found)
                or _CITED_YEAR.search(found) or _SPACED_DATE.match(found) or _IP.match(found)):
            return False
        return not (_MONEY_BEFORE.search(text[max(0, start - 6):start])
                    or _MONEY_AFTER.match(text[end:end + 12]))

    def _names(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for offset, piece in _pieces(text, PIECE_CHARS):
            found += [(offset + a, offset + b) for a, b in self._names_in(piece)]
        if self._ner is not None:
            for offset, piece in _pieces(text, PIECE_CHARS):
                found += [(offset + e.start_char, offset + e.end_char)
                          for e in self._ner(piece).ents if e.label_ == "PERSON"]
        # a name found once is masked wherever else it stands in the document
        words = {text[a:b] for a, b in found} | {
            w for a, b in found for w in re.split(r"[^\w'’]+", text[a:b])}
        words = {text[a:b] for a, b in found} | {  # single words only when not common
            w for w in words if len(w) > 1 and w.lower() not in self._lists["keep"]
            and w.lower() not in self._lists["particles"]
            and not (w.lower() in self._english and w.lower() not in self._lists["given"]
                     and w.lower() not in self._lists["word_names"])}
        words |= {n for n in self.names if n}
        words |= {w.upper() for w in words if len(w) > 2}  # "R v IONESCU"
        words |= {w.title() for w in words if w.isupper() and len(w) > 2}  # and back
        if words:
            alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            # also the plural of a family name ("the Markus"); never inside a longer word
            again = re.compile(rf"(?<![\w@.])(?:{alternation})s?(?![\w@]|\.\w|n['’]t)")
            found += [m.span() for m in again.finditer(text)]
        never = self._lists["never"]
        found = [(a, b) for a, b in _merged(found) if text[a:b].lower() not in never]
        return _merged(found, text, joins="-‐")

    def _names_in(self, text: str) -> Iterable[tuple[int, int]]:
        doc = self._tokenizer(text)
        found = [r for m in self._matcher(doc) if (r := self._name_range(doc, *m)) is not None]
        found += self._speakers(doc)
        for first, last in self._listed(doc, found):
            yield doc[first].idx, doc[last].idx + len(doc[last])

    def _name_range(self, doc: Any, match_id: int, start: int, end: int
                    ) -> tuple[int, int] | None:
        """The tokens of the name a match points at, or None when it is not a name."""
        lists = self._lists
        rule = doc.vocab.strings[match_id]
        first = start if rule in ("INITIALS", "UPPER", "AGE", "CAPS") else end - 1
        if rule in ("CAPS", "TITLECAPS"):  # upper-case names: no extension, no place check
            words = [t.lower_ for t in doc[first:end]]
            if (any(w in lists["keep"] or w in lists["place_words"] or w in lists["never"]
                    for w in words[1 if rule == "CAPS" else 0:])
                    or (rule == "TITLECAPS" and not _SURNAME_CAPS.match(doc[end - 1].text))):
                return None
            return first, end - 1
        if rule == "AGE":  # "Sergiu Lungu, 41," or "Sergiu Lungu (41)"
            last = end - 4  # both patterns end: name, "," or "(", age, "," or ")"
            while first < last and doc[first].lower_ in (
                    lists["honorifics"] | lists["roles"] | lists["keep"]):
                first += 1  # "General Priya Ramanathan, 52," names Priya Ramanathan
            words = [t.lower_ for t in doc[first:last + 1]]
            if any(w in lists["keep"] or w in lists["place_words"] for w in words):
                return None
            return first, last
        token = doc[end - 1]
        lower = token.lower_
        if lower in lists["never"] or (end < len(doc) and doc[end].lower_ in ("n't", "n’t")):
            return None  # "Don't" is not "Do" the name
        named = lower in lists["given"] or lower in lists["word_names"]
        if lower in lists["keep"] and (rule == "WORDNAME" or not named):
            return None  # a strong cue before a listed name outweighs the keep list
        if rule == "WORDNAME" and _sentence_start(doc, end - 1) and not self._surname_at(
                doc, end):
            return None
        if rule == "BYLINE" and not _line_start(doc, start):
            return None
        if rule in ("TITLE", "ROLE", "INTRO") and lower in lists["honorifics"] | lists["roles"]:
            return None
        if rule == "TITLE" and self._common(token) and len(doc[start].text) > 4 and (
                not doc[start].text.endswith(".")):
            return None  # "General Principles"; "Inspector Hall" is missed, "DI Hall" not
        if rule == "ROLE" and self._common(token) and doc[start].text[:1].isupper():
            return None  # Title Case: "Victims Protection Act", "Employer Sanctions"
        if rule == "INITIALS" and (doc[start].text.upper() in _NOT_INITIALS or (
                len(doc[start].text) == 2 and lower in self._english and not named)):
            return None  # "U.S. Army", or a heading "A. Background"
        if rule == "UPPER" and (
                doc[start].lower_ in lists["keep"] or not _SURNAME_CAPS.match(doc[start].text)
                or (lower in self._english and not named)
                or (end < len(doc) and doc[end].text in ("-", "–", "—"))):
            return None  # "FBI, Homeland", "BRANDT, Circuit Judges", "DAYTON, Ohio —"
        last = self._extend(doc, end - 1)
        if any(t.lower_ in lists["place_words"] for t in doc[end:last + 1]):
            return None  # "Long Beach", "Riverside Business Park"
        if first > 0 and doc[first - 1].lower_ in lists["place_prefixes"] and (
                doc[first - 1].text[:1].isupper()):
            return None  # "San Pedro Sula"
        if last + 1 < len(doc) and doc[last + 1].lower_ in lists["place_words"]:
            return None  # "Nathan Road"
        return first, last

    def _listed(self, doc: Any, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """``found`` with the names listed beside them: in "Dil Kumari Gurung, Ion
        Ciobanu and Bishnu Magar", one known name makes the other full names (two or
        more capitalised words) names too."""
        names = set(found)
        todo = list(found)
        while todo:
            first, last = todo.pop()
            for run in (self._run_after(doc, last), self._run_before(doc, first)):
                if run is not None and run not in names:
                    names.add(run)
                    todo.append(run)
        return sorted(names)

    def _run_after(self, doc: Any, last: int) -> tuple[int, int] | None:
        k = last + 1
        while k < len(doc) and doc[k].lower_ in _LIST_JOINS and k - last <= 2:
            k += 1
        if k == last + 1 or not self._surname_at(doc, k):
            return None
        end = self._extend(doc, k)
        return (k, end) if end > k else None

    def _run_before(self, doc: Any, first: int) -> tuple[int, int] | None:
        k = first - 1
        while k >= 0 and doc[k].lower_ in _LIST_JOINS and first - k <= 2:
            k -= 1
        if k == first - 1 or not self._surname_at(doc, k):
            return None
        start = k
        while (start > 0 and k - start < MAX_NAME_TOKENS - 1 and self._surname_at(doc, start - 1)
               and doc[start - 1].whitespace_):
            start -= 1
        return (start, k) if k > start else None

    def _surname_at(self, doc: Any, i: int) -> bool:
        return (i < len(doc) and re.match(_NAMEY, doc[i].text) is not None
                and doc[i].lower_ not in self._lists["keep"])

    def _common(self, token: Any) -> bool:
        """An English word that is not a listed name ("Man", "Principles")."""
        lower = token.lower_
        return (lower in self._english and lower not in self._lists["given"]
                and lower not in self._lists["word_names"])

    def _headline(self, doc: Any, i: int) -> bool:
        """Whether token ``i`` is a capitalised common word followed by another (Title
        Case prose such as "Louis Man Sentenced"), not a surname such as "Smith"."""
        return (self._common(doc[i]) and i + 1 < len(doc)
                and re.match(_NAMEY, doc[i + 1].text) is not None and self._common(doc[i + 1]))

    def _extend(self, doc: Any, i: int) -> int:
        """The last token of the name starting at token ``i``: capitalised words,
        particles before one ("dos Santos"), and hyphenated parts ("Okonjo-Hart")."""
        lists = self._lists
        stop = i + MAX_NAME_TOKENS  # a run of capitalised words is not one long name
        while i + 1 < min(len(doc), stop):
            nxt = doc[i + 1]
            particle = (nxt.lower_ in lists["particles"] and bool(doc[i].whitespace_)
                        and self._surname_at(doc, i + 2))
            hyphen = (nxt.text in ("-", "‐") and not doc[i].whitespace_ and not nxt.whitespace_
                      and i + 2 < len(doc) and re.match(_NAMEY, doc[i + 2].text) is not None)
            if doc[i].whitespace_ and self._surname_at(doc, i + 1) and not self._headline(
                    doc, i + 1):
                i += 1
            elif particle or hyphen:
                i += 2
            else:
                return i
        return i

    def _speakers(self, doc: Any) -> list[tuple[int, int]]:
        """Speaker tags of chat lines: "Dmitri: ...", "[21:04] Kira M: ...", "andrei_d: ..."."""
        lists = self._lists
        found: list[tuple[int, int]] = []
        tags: dict[str, list[tuple[int, int, bool]]] = {}
        for i, token in enumerate(doc):
            if not _line_start(doc, i):
                continue
            j = i
            if token.text == "[":  # a bracketed time stamp before the speaker
                while j < len(doc) and doc[j].text != "]" and j - i < 12:
                    j += 1
                j += 1
            if j >= len(doc):
                continue
            if _USERNAME.match(doc[j].text) and j + 1 < len(doc) and doc[j + 1].text == ":":
                tags.setdefault(doc[j].lower_, []).append((j, j, j > i))
                continue
            if not re.match(_NAMEY, doc[j].text):
                continue
            last = j + 1 if (j + 1 < len(doc) and re.match(_NAMEY, doc[j + 1].text)) else j
            if last + 1 >= len(doc) or doc[last + 1].text != ":":
                continue
            words = [t.lower_ for t in doc[j:last + 1]]
            if any(w in lists["keep"] for w in words):
                continue
            if all(w in self._english and w not in lists["given"] | lists["word_names"]
                   for w in words):
                continue
            tags.setdefault(" ".join(words), []).append((j, last, j > i or any(
                w in lists["given"] | lists["word_names"] for w in words)))
        # a tag is a speaker after a time stamp, when it is a given name, or when it
        # starts two or more lines (a dialogue, not a heading such as "Deepfake:")
        for spans in tags.values():
            found += [(j, last) for j, last, sure in spans if sure or len(spans) > 1]
        return found

    # -- masking --

    def mask(self, text: str) -> str:
        """``text`` with each piece of personal data replaced by its placeholder."""
        return _replaced(text, 0, len(text), self.find(text))

    def mask_spans(self, text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
        """The masked text of each ``(start, end)`` of one document: personal data is
        found in the whole document (so a name seen anywhere in it is masked in every
        sentence), then each span's characters are masked."""
        if not spans:
            return []
        found = self.find(text)
        return [_replaced(text, start, end, found) for start, end in spans]

    def mask_texts(self, texts: Sequence[str]) -> list[str]:
        """Mask texts that belong to one document (its sentences, say), together."""
        joined, spans, at = [], [], 0
        for t in texts:
            spans.append((at, at + len(t)))
            joined.append(t)
            at += len(t) + 1
        return self.mask_spans("\n".join(joined), spans)


class _Taken:
    """Character ranges already masked, for settling overlaps: kept sorted and disjoint,
    so each question is two look-ups (a text may hold many thousands of finds)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start)
        before_ok = i == 0 or self.ends[i - 1] <= start
        after_ok = i == len(self.starts) or self.starts[i] >= end
        return before_ok and after_ok

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def _trim_phone(found: str, end: int) -> tuple[str, int]:
    stripped = found.rstrip(" \t.-(")
    if stripped.count("(") < stripped.count(")"):
        stripped = stripped.rstrip(")")
    return stripped, end - (len(found) - len(stripped))


def _merged(spans: list[tuple[int, int]], text: str = "", joins: str = ""
            ) -> list[tuple[int, int]]:
    """Overlapping spans joined; with ``joins``, also spans one such character apart
    ("Okafor" and "Bello" of "Okafor-Bello")."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and (a <= out[-1][1] or (joins and a == out[-1][1] + 1 and text[a - 1] in joins)):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _replaced(text: str, start: int, end: int, found: Sequence[PiiSpan]) -> str:
    parts, at = [], start
    for span in found:
        if span.end <= start or span.start >= end:
            continue
        a, b = max(span.start, start), min(span.end, end)
        parts += [text[at:a], span.placeholder]
        at = b
    parts.append(text[at:end])
    return "".join(parts)


def _pieces(text: str, size: int) -> Iterable[tuple[int, str]]:
    """``text`` in pieces of about ``size`` characters, cut at line breaks or spaces."""
    at = 0
    while at < len(text):
        stop = min(len(text), at + size)
        if stop < len(text):
            cut = max(text.rfind("\n", at, stop), text.rfind(" ", at, stop))
            stop = cut + 1 if cut > at else stop
        yield at, text[at:stop]
        at = stop


def _line_start(doc: Any, i: int) -> bool:
    return i == 0 or (doc[i - 1].is_space and "\n" in doc[i - 1].text) or (
        doc[i - 1].whitespace_ == "" and doc[i - 1].text.endswith("\n"))


def _sentence_start(doc: Any, i: int) -> bool:
    j = i - 1
    while j >= 0 and doc[j].is_space:
        if "\n" in doc[j].text:
            return True
        j -= 1
    return j < 0 or doc[j].text in _SENTENCE_END or "\n" in doc[j].whitespace_
