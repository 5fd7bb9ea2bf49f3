"""Identifiers found by where they stand rather than by their shape.

- :class:`AddressContextRecognizer` - the address after an address cue ("Address:", "lives
  at", "moved to", "mail to", "c/o", "Anschrift", "domicilio"): the rest of the clause when
  it holds a number (house number, unit, PO box or postcode). National street formats are
  too many to list; the cue says an address follows, the clause end says where it stops.
- :class:`TableCellRecognizer` - cells of small tables pasted into notes ("street | city |
  zip" header rows over value rows, or "Age | 91 | Sex | F" key/value rows, pipe- or
  tab-separated): a cell under (or after) an identifier header is that identifier.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from privtrain.deid._recognizers import _LocalRecognizer, _result

# ------------------------------------------------------------------------------ addresses

_ADDRESS_CUE = re.compile(
    r"(?i:\b(?:(?:home|mailing|postal|street|billing|current|new|permanent|previous|old|"
    r"forwarding|residential|patient)[ \t]+)?(?:address(?:e)?|addr\.?)(?:[ \t]+(?:is|of[ \t]+"
    r"record))?|lives[ \t]+at|living[ \t]+at|resides[ \t]+at|residing[ \t]+at|resident[ \t]+at|"
    r"moved[ \t]+to|relocated[ \t]+to|(?:will[ \t]+)?stay(?:ing)?[ \t]+at|home[ \t]+at|"
    r"mail[ \t]+to|send[ \t]+(?:\w+[ \t]+)?to|correspondence(?:[ \t]+to)?|c/o|care[ \t]+of|"
    r"(?:found|picked[ \t]+up|fell|seen)[ \t]+(?:down[ \t]+)?(?:outside|at|in[ \t]+front[ \t]+"
    r"of)|home[ \t]+visit(?:[ \t]+at)?|delivered[ \t]+to|ship[ \t]+to|discharged[ \t]+to[ \t]+"
    r"[\w'’ ]{0,30}?[ \t]+at|anschrift|wohnhaft(?:[ \t]+in)?|wohnt[ \t]+in|adresse|domicile|"
    r"domicilio|direcci[oó]n|indirizzo|endere[cç]o|morada|adres|bosatt[ \t]+i)"
    r"(?![^\W\d_])[ \t]*[:\-–]?[ \t]*\n?[ \t]*"
)
# words that stop an address clause ("... 4909 Marchtrenk for rehab", "...; phone 555")
_CLAUSE_STOP = re.compile(
    r"(?i)[;()\[\]]|\b(?:for|after|before|until|since|with|because|phone|tel|"
    r"telephone|tél|email|e-mail|fax|mobile|cell|and[ \t]+(?:was|is|has|will)|who|where|"
    r"which|when|(?:in|on|since|from|during|by|until)[ \t]+(?=\d{1,2}[/.\-]|(?:19|20)\d\d\b|"
    r"(?:\d{1,2}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?)?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b))\b"
)
# "MAC address", "IP address", "e-mail address": not a postal address
_NOT_POSTAL = re.compile(
    r"(?i)\b(?:mac|ip|ipv[46]|e-?mail|web|wallet|bitcoin|bluetooth|"
    r"hardware|memory|return)[ \t]*$"
)
# an abbreviation's dot does not end the clause ("Apt.", "R.", "app.", "Nr.", "Bât.", "Dr.")
_ABBREV_BEFORE_DOT = re.compile(
    r"(?:^|[\s,/])(?:[^\W\d_]{1,2}|\d{1,2}|[^\W\d_]+º|(?i:apt|apto|app|appt|ste|str|blvd|ave|"
    r"av|avda|rd|st|dr|no|nr|nro|bât|bat|izq|dcha|dpto|depto|esc|int|pl|ul|al|os|bl|sc|ap|et|"
    r"lgh|whg|bus|rte|hwy|pkwy|ln|ct|cres|terr|sq|mt|ft|pt|fl|bldg|rm|vej|g|gt|gr|pza|sta|"
    r"sto|km|col|fracc|edif|urb|jl|gang|tr|al|os|ks|sv|st))$"
)
_TRAILING_PROSE = STOP_WORDS | frozenset(
    """today yesterday tonight currently recently alone temporarily permanently ago week weeks
    month months year years last spring summer winter autumn fall daily since""".split()
)
_NOT_ADDRESS_START = frozenset(
    """icu ward room bed floor unit rehab hospice home the hospital clinic day days week
    weeks month months year years today tomorrow level stage grade dose mg ml his her their
    our my this that er ed or pacu nicu picu ccu step snf ltc bay""".split()
)


def _clause_end(text: str, start: int, limit: int = 140) -> int:
    stop = min(len(text), start + limit)
    m = _CLAUSE_STOP.search(text, start, stop)
    if m:
        stop = m.start()
    nl = text.find("\n", start, stop)
    # an address may run over lines (street / postcode city); a blank line or a line that
    # opens with a label ("Phone:", "DOB:") ends it
    while nl != -1:
        nxt = text[nl + 1 : stop]
        if (
            not nxt.strip()
            or re.match(r"[ \t]*[^\W\d_ ]+(?:[ \t][^\W\d_]+)?[ \t]*:", nxt)
            or (not re.search(r"\d", nxt.split("\n", 1)[0]))
        ):
            stop = nl
            break
        nl = text.find("\n", nl + 1, stop)
    i = start
    while True:
        j = text.find(".", i, stop)
        if j == -1:
            break
        after = text[j + 1 : j + 3]
        if (not after or after[0] in " \t\n") and not _ABBREV_BEFORE_DOT.search(text[start:j]):
            if not after or not after.strip() or after[1:2].isupper() or after[1:2] == "\n":
                stop = j
                break
        i = j + 1
    while stop > start and text[stop - 1] in " \t\n,.:":
        stop -= 1
    # trailing prose is not part of the address ("... 1015 CJ Amsterdam now")
    while True:
        m = re.search(r"[ \t,]+([a-z]{3,})$", text[start:stop])
        if not m or m.group(1) not in _TRAILING_PROSE:
            break
        stop = start + m.start()
    return stop


class AddressContextRecognizer(_LocalRecognizer):
    """The address after an address cue (entity ``STREET_ADDRESS``)."""

    ENTITIES = ("STREET_ADDRESS",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        if not any(c.isdigit() for c in text):
            return out
        for m in _ADDRESS_CUE.finditer(text):
            if _NOT_POSTAL.search(text, max(0, m.start() - 12), m.start()):
                continue
            s = m.end()
            e = _clause_end(text, s)
            value = text[s:e]
            if len(value) < 4 or not re.search(r"\d", value):
                continue
            first = re.match(r"[^\W\d_]+", value)
            if first and (
                first.group().lower() in _NOT_ADDRESS_START or re.match(r"(?i)an?[ \t]", value)
            ):
                continue
            if not re.search(r"[^\W\d_]{2,}", value):
                continue  # digits alone: a phone number or an id, left to their recognizers
            out.append(_result("STREET_ADDRESS", s, e, 0.8, self))
        return out


# ---------------------------------------------------------------------------- table cells

_HEADER_ENTITY = (
    (
        re.compile(
            r"(?i)^(?:(?:home|street|mailing|postal)[ _]?)?(?:address(?:[ _]?line)?\d?|"
            r"addr\d?|street|strasse|straße|adresse|direcci[oó]n|indirizzo|endere[cç]o|"
            r"rue|calle|via)$"
        ),
        "STREET_ADDRESS",
    ),  # fmt: skip
    (
        re.compile(
            r"(?i)^(?:city|town|village|county|municipality|ort|wohnort|stadt|gemeinde|"
            r"ville|commune|ciudad|localidad|citt[àa]|comune|cidade|plaats|stad|ort|"
            r"place[ _]of[ _](?:birth|residence)|birthplace|residence|hometown)$"
        ),
        "LOCATION",
    ),  # fmt: skip
    (
        re.compile(
            r"(?i)^(?:zip(?:[ _]?code)?|postcode|postal[ _]?code|post[ _]?code|plz|cp|"
            r"cap|cep|code[ _]postal|c[oó]digo[ _]postal|postnummer|pin[ _]?code)$"
        ),
        "ZIP",
    ),  # fmt: skip
    (
        re.compile(
            r"(?i)^(?:age|age[ _]?\(?(?:years?|yrs?|y)\)?|alter|edad|[âa]ge|et[àa]|"
            r"leeftijd|idade|wiek|[åa]lder)$"
        ),
        "AGE",
    ),  # fmt: skip
    (
        re.compile(
            r"(?i)^(?:mrn|mr#|medical[ _]record(?:[ _](?:number|no|#))?|chart(?:[ _]no)?|"
            r"patient[ _]?id|hospital[ _](?:number|no))$"
        ),
        "MEDICAL_RECORD_NUMBER",
    ),
    (
        re.compile(
            r"(?i)^(?:(?:patient|full|first|last|given|family|sur)[ _]?name|name|patient|"
            r"surname|nombre|nom|nome|naam)$"
        ),
        "PERSON",
    ),  # fmt: skip
    (
        re.compile(
            r"(?i)^(?:dob|d\.o\.b\.?|date[ _]of[ _]birth|birth[ _]?date|born|"
            r"geburtsdatum|fecha[ _]de[ _]nacimiento)$"
        ),
        "DATE_TIME",
    ),  # fmt: skip
    (re.compile(r"(?i)^(?:plate|licen[cs]e[ _]plate|vin|registration|kennzeichen)$"), "VEHICLE_ID"),
    (re.compile(r"(?i)^(?:serial(?:[ _](?:no|number|#))?|s/n|sn|udi|device[ _]id)$"), "DEVICE_ID"),
)
_CELL_SEP = re.compile(r"[ \t]*(?:\||\t)[ \t]*")


def _header_entity(cell: str) -> str | None:
    c = cell.strip().strip(":").strip()
    for rx, entity in _HEADER_ENTITY:
        if rx.match(c):
            return entity
    return None


def _cell_ok(entity: str, value: str) -> bool:
    v = value.strip()
    if not v or len(v) > 80:
        return False
    if entity == "AGE":
        return v.isdigit() and 90 <= int(v) <= 150
    if entity in ("ZIP", "MEDICAL_RECORD_NUMBER", "DEVICE_ID", "VEHICLE_ID", "DATE_TIME"):
        return any(c.isdigit() for c in v)
    if entity == "STREET_ADDRESS":
        return any(c.isdigit() for c in v) and any(c.isalpha() for c in v)
    return any(c.isalpha() for c in v) and not any(c.isdigit() for c in v)


def _cells(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """(start, end) of each cell of the line text[s:e], stripped."""
    out, pos = [], s
    for m in _CELL_SEP.finditer(text, s, e):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, e))
    stripped = []
    for a, b in out:
        while a < b and text[a] in " \t":
            a += 1
        while b > a and text[b - 1] in " \t":
            b -= 1
        stripped.append((a, b))
    return stripped


class TableCellRecognizer(_LocalRecognizer):
    """Cells of pipe/tab tables in free text under (or right after) an identifier header."""

    ENTITIES = ("STREET_ADDRESS", "LOCATION", "ZIP", "AGE", "MEDICAL_RECORD_NUMBER", "PERSON",
                "DATE_TIME", "VEHICLE_ID", "DEVICE_ID")  # fmt: skip

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out: list[RecognizerResult] = []
        if "|" not in text and "\t" not in text:
            return out
        header: list[str | None] | None = None
        pos = 0
        for line in text.split("\n"):
            s, e = pos, pos + len(line)
            pos = e + 1
            if "|" not in line and "\t" not in line:
                header = None
                continue
            cells = _cells(text, s, e)
            # a header row may follow a sentence on its line ("... as below. street | city")
            lead = re.search(r"(?:^|[.:;!?][ \t]+)([^.:;!?]*)$", text[cells[0][0] : cells[0][1]])
            if lead and lead.start(1) > 0 and _header_entity(lead.group(1)):
                cells[0] = (cells[0][0] + lead.start(1), cells[0][1])
            kinds = [_header_entity(text[a:b]) for a, b in cells]
            # a header row: identifier headers, after at most one other cell ("MRN 12 |
            # street | city | zip"); the next rows are values under it, aligned at the right
            lead = 1 if kinds and kinds[0] is None else 0
            if sum(k is not None for k in kinds) >= 2 and all(
                k is not None or not text[a:b].strip()
                for k, (a, b) in zip(kinds[lead:], cells[lead:], strict=True)
            ):
                header = kinds[lead:]
                continue
            if header is not None and 0 < len(cells) <= len(header):
                for kind, (a, b) in zip(header[len(header) - len(cells) :], cells, strict=True):
                    if kind and _cell_ok(kind, text[a:b]):
                        out.append(_result(kind, a, b, 0.7, self))
                continue
            header = None
            # key | value | key | value
            for (ka, kb), (va, vb) in zip(cells, cells[1:]):  # noqa: B905
                kind = _header_entity(text[ka:kb])
                value = text[va:vb]
                if kind in ("PERSON", "LOCATION") and (
                    not value[:1].isupper() or _header_entity(value) is not None
                ):
                    continue  # "name | dose": a header row, not a name
                if kind and _cell_ok(kind, value):
                    out.append(_result(kind, va, vb, 0.7, self))
        return out
