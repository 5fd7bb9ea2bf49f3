"""Recognizers privtrain adds to (or swaps into) presidio's defaults.

Each one closes a recall gap of the defaults measured by ``benchmarks/deid_eval.py``:

- :class:`OfflineEmailRecognizer` - presidio's e-mail pattern, TLD check against the bundled
  public-suffix snapshot (never the network).
- :class:`IntlPhoneRecognizer` - ``phonenumbers`` over a configurable region list; national
  formats of the first region and any "+CC"/"00CC" number are accepted when *possible*, other
  regions' national formats when *valid*.
- :class:`StreetAddressRecognizer` - "<number> <words> <Street|Ave|Rd|...> [unit] [, City, ST
  12345]" (US/UK/CA/AU), German "Hauptstraße 5, 10115 Berlin", French "12 rue de la Paix,
  75002 Paris", Spanish/Italian/Portuguese "Calle Mayor 5", US military (APO/FPO/DPO).
- :class:`SsnRecognizer` - US SSN with and without separators (digits-only needs context);
  presidio's UK NINO recognizer is switched on next to it.
- :class:`CardNumberRecognizer` - card numbers outside presidio's pattern (Mastercard
  2-series, Maestro, 19-digit Visa, UnionPay, JCB): issuer prefix + length + Luhn.
- :class:`MonthDateRecognizer` - "Apr 17, 1989", "17-Apr-1989", "April 1989".
- :class:`ContextNameRecognizer` - names after a title (Mr., Dr.), a label or role ("Patient:",
  "Customer", "Escalated to"), a kinship word ("daughter", "wife") or a greeting/sign-off
  ("Hi", "Regards,"); "Last, First" and ALL-CAPS forms too.
- :class:`LastFirstNameRecognizer` - "Last, First [M.]" when the NER model sees an entity in
  it and no locative preposition precedes it.
- :class:`NerOrgNameRecognizer` - person-shaped spans the small model labels ORG.
- :func:`normalize_caps` - runs of two or three ALL-CAPS words are title-cased (same length)
  before NER.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer, UsSsnRecognizer

from privtrain.deid._offline import offline_tld_extractor

#: Latin capitals and small letters with diacritics (U+00C0..U+024F): "Ágnes", "Søren", "Łukasz".
_UP = "A-Z" + "".join(c for c in map(chr, range(0xC0, 0x250)) if c.isupper())
_LO = "a-z" + "".join(c for c in map(chr, range(0xDF, 0x250)) if c.islower())


def _result(entity: str, start: int, end: int, score: float, rec: EntityRecognizer):
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=rec.name, original_score=score, textual_explanation=None
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: rec.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: rec.id,
        },
    )


# ----------------------------------------------------------------------------- e-mail


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's e-mail recognizer; the TLD check never touches the network."""

    def validate_result(self, pattern_text: str) -> bool:  # noqa: D102
        return offline_tld_extractor()(pattern_text).fqdn != ""


# ------------------------------------------------------------------------------ phones

_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+.])(?:\+|00)?\(?\d[\d \t().\-/]{5,22}\d"
    r"(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,6})?(?![\w])",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_SSN_LIKE = re.compile(r"\d{3}-\d{2}-\d{4}")
_IPV4_LIKE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_BLOCKERS = (
    re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"),
    # a date - not a chain of digit groups ("20-33-70-48" is a Danish phone number)
    re.compile(
        r"(?<![\d\-/.])(?:(?:0?[1-9]|[12]\d|3[01])([-/.])(?:0?[1-9]|[12]\d|3[01])\1\d{2,4}"
        r"|\d{4}([-/.])(?:0?[1-9]|1[0-2])\2(?:0?[1-9]|[12]\d|3[01]))(?![\d]|[-/.]\d)"
    ),
    re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class _LocalRecognizer(EntityRecognizer):
    """A recognizer whose patterns and lists are built at import: nothing to load.

    A subclass names its entities in ``ENTITIES`` and its context words (for presidio's
    context enhancer) in ``CONTEXT``; its recognizer name is its class name and its language
    English unless given."""

    ENTITIES: tuple[str, ...] = ()
    CONTEXT: tuple[str, ...] = ()

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("supported_entities", list(self.ENTITIES))
        kwargs.setdefault("name", type(self).__name__)
        kwargs.setdefault("supported_language", "en")
        kwargs.setdefault("context", list(self.CONTEXT) or None)
        super().__init__(**kwargs)

    def load(self) -> None:  # noqa: D102
        pass


class IntlPhoneRecognizer(_LocalRecognizer):
    """Phone numbers of several countries with ``phonenumbers.PhoneNumberMatcher``.

    A cheap pattern finds digit runs that could be phone numbers; only those are handed to the
    matcher, region by region, so long texts without numbers cost almost nothing.
    """

    # presidio matches context words as substrings of the lemmas around a match
    ENTITIES = ("PHONE_NUMBER",)
    CONTEXT = ("phone", "telephone", "tel.", "cell", "mobile", "call", "reach", "contact", "fax")

    def __init__(self, regions: Sequence[str] = ("US",), name: str | None = None) -> None:
        self.regions = tuple(regions)
        super().__init__(name=name or type(self).__name__)

    def _skip(self, cand: str, digits: str) -> bool:
        if len(digits) < 7 or len(digits) > 17:
            return True
        plus = cand.startswith(("+", "00"))
        if not plus and (
            _DATE_LIKE.fullmatch(cand) or _SSN_LIKE.fullmatch(cand) or _IPV4_LIKE.fullmatch(cand)
        ):
            return True
        return not plus and len(digits) >= 13 and _luhn_ok(digits)

    def _match(self, cand: str) -> list[tuple[int, int, float]]:
        """(start, end, score) of numbers inside ``cand``: 0.6 when valid; when only possible,
        0.45 in the first region or with a country code, 0.4 in the other regions."""
        international = cand.startswith(("+", "00"))
        # "00" is the international prefix of most regions, not of the US: read it as DE does
        regions = ("DE",) if cand.startswith("00") else self.regions
        for i, region in enumerate(regions):
            found = []
            for m in phonenumbers.PhoneNumberMatcher(
                cand, region, leniency=phonenumbers.Leniency.POSSIBLE
            ):
                if sum(c.isdigit() for c in m.raw_string) < 7:
                    continue
                if phonenumbers.is_valid_number(m.number):
                    score = 0.6
                else:
                    score = 0.45 if (i == 0 or international) else 0.4
                found.append((m.start, m.end, score))
            if found:
                return found
            if international:
                break  # "+CC ..." parses the same in every region
        return []

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        results: list[RecognizerResult] = []
        blocked: list[tuple[int, int]] | None = None
        for cm in _PHONE_CANDIDATE.finditer(text):
            cand = cm.group(0)
            digits = re.sub(r"\D", "", re.split(r"[xX]|ext", cand)[0])
            if self._skip(cand, digits):
                continue
            if blocked is None:  # dates, SSNs, IPv4 addresses are not phone numbers
                blocked = [m.span() for rx in _BLOCKERS for m in rx.finditer(text)]
            found = self._match(cand)
            if not found and cand.startswith("+") and 8 <= len(digits) <= 15:
                # "+54 9 3648 8807": a country code and phone grouping, even if the number is
                # shorter or longer than that country's plan allows
                found = [(0, len(cand.rstrip()), 0.45)]
            for s, e, score in found:
                s, e = cm.start() + s, cm.start() + e
                if not text[s] == "+" and any(b0 < e and s < b1 for b0, b1 in blocked):
                    continue
                results.append(_result("PHONE_NUMBER", s, e, score, self))
        return results


# -------------------------------------------------------------------------------- cards

_CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])")


def _card_prefix_ok(d: str) -> bool:
    n2, n4 = int(d[:2]), int(d[:4])
    if d[0] == "4":  # Visa
        return len(d) in (13, 16, 19)
    if 51 <= n2 <= 55 or 2221 <= n4 <= 2720 or 2200 <= n4 <= 2204:  # Mastercard, Mir
        return len(d) == 16
    if n2 in (34, 37):  # Amex
        return len(d) == 15
    if n2 in (36, 38, 39) or 300 <= int(d[:3]) <= 305:  # Diners
        return 14 <= len(d) <= 19
    if d.startswith(("6011", "65", "62")) or 644 <= int(d[:3]) <= 649 or 3528 <= n4 <= 3589:
        return 16 <= len(d) <= 19  # Discover, UnionPay, JCB
    if d.startswith(("2131", "1800")):  # JCB, 15-digit legacy range
        return len(d) == 15
    if n2 == 50 or 56 <= n2 <= 69 or d.startswith("0604"):  # Maestro
        return 12 <= len(d) <= 19
    return False


class CardNumberRecognizer(_LocalRecognizer):
    """Payment card numbers presidio's pattern misses (Mastercard 2-series, Maestro, 19-digit
    Visa, UnionPay): 12-19 digits, one separator style, a known issuer prefix, Luhn-valid."""

    ENTITIES = ("CREDIT_CARD",)
    CONTEXT = ("card", "credit", "debit", "visa", "mastercard", "maestro", "amex", "paid")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        for m in _CARD_CANDIDATE.finditer(text):
            raw = m.group(0)
            if " " in raw and "-" in raw:
                continue
            d = re.sub(r"\D", "", raw)
            if _card_prefix_ok(d) and _luhn_ok(d) and len(set(d)) > 2:
                out.append(_result("CREDIT_CARD", m.start(), m.end(), 0.8, self))
        return out


# -------------------------------------------------------------------------------- dates

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_MONTHS_ABBR = r"(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)"
# month names in French, German, Spanish, Italian, Portuguese, Dutch (not the English ones)
_FOREIGN_MONTHS = (
    r"(?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|"
    r"novembre|décembre|decembre|januar|jänner|februar|märz|maerz|juni|juli|oktober|dezember|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|"
    r"diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    r"janeiro|fevereiro|março|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|januari|"
    r"februari|maart|mei|augustus)"
)
_YEAR = r"(?:1[89]\d\d|20\d\d|'?\d\d)"


class MonthDateRecognizer(PatternRecognizer):
    """Dates with a month name, which presidio's numeric patterns miss and the small NER model
    often cuts short: "Apr 17, 1989", "17 April 1989", "17-Apr-1989", "the 3rd of May 2001",
    "April 1989"."""

    PATTERNS = [
        Pattern("month d, y", rf"\b{_MONTHS}[ \t]+{_DAY},?[ \t]+{_YEAR}\b", 0.7),
        # "2. Juli 1973", "5 février 2022", "24 de marzo de 1974", "3 luglio 1966"
        Pattern(
            "d month y (other languages)",
            rf"(?i)\b{_DAY}\.?(?:[ \t]+de)?[ \t]+{_FOREIGN_MONTHS}\.?(?:[ \t]+de)?,?[ \t]+"
            r"(?:1[89]\d\d|20\d\d)\b",
            0.85,
        ),
        Pattern(
            "month y (other languages)",
            rf"(?i)\b{_FOREIGN_MONTHS}(?:[ \t]+de)?[ \t]+(?:1[89]\d\d|20\d\d)\b",
            0.5,
        ),
        # "21JUN2018", "03-MAR-2019"
        Pattern("ddMONyyyy", rf"(?i)\b\d{{1,2}}-?{_MONTHS_ABBR}-?(?:1[89]\d\d|20\d\d|\d\d)\b", 0.7),
        # "2024-08-18T18:45", "1938.07.09", "2019/11/15"
        Pattern(
            "iso datetime", r"\b(?:1[89]|20)\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d(?::[0-5]\d)?", 0.8
        ),
        Pattern(
            "y.m.d", r"\b(?:1[89]|20)\d\d([./])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])\b", 0.6
        ),
        # "8/2022", "11/1987": month and year
        Pattern("m/yyyy", r"(?<![\d/.])(?:0?[1-9]|1[0-2])[/\-](?:19\d\d|20\d\d)(?![\d/])", 0.5),
        # "2019年11月15日", "1995年2月"
        Pattern("cjk date", r"(?:1[89]|20)\d\d年[01]?\d月(?:[0-3]?\d日)?", 0.8),
        Pattern("d month y", rf"\b{_DAY}(?:[ \t]+of)?[ \t\-]+{_MONTHS}[ \t,\-]+{_YEAR}\b", 0.7),
        Pattern("month y", rf"\b{_MONTHS},?[ \t]+(?:1[89]\d\d|20\d\d)\b", 0.5),
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="DATE_TIME",
            patterns=self.PATTERNS,
            name="MonthDateRecognizer",
            supported_language="en",
        )


# ---------------------------------------------------------------------------------- SSN


class SsnRecognizer(UsSsnRecognizer):
    """US SSN: ``123-45-6789`` / ``123 45 6789`` (0.6) and ``123456789`` (0.3; context words
    such as "SSN" or "social security" lift it over the threshold). presidio's validity checks
    (area 000/666, zero groups, placeholder numbers) still apply."""

    PATTERNS = [
        Pattern("SSN separated", r"\b([0-9]{3})[- .]([0-9]{2})[- .]([0-9]{4})\b", 0.6),
        Pattern("SSN digits", r"\b[0-9]{9}\b", 0.3),
    ]
    CONTEXT = ["social", "security", "ssn", "ssns", "ss#", "ssn#", "ssid", "socsec"]

    def __init__(self) -> None:
        super().__init__(patterns=self.PATTERNS, context=self.CONTEXT, name="SsnRecognizer")


# ---------------------------------------------------------------------------- addresses

# USPS Publication 28 street suffixes (full and standard abbreviations), plus common UK forms.
_SUFFIXES = """
Alley Aly Annex Anx Arcade Arc Avenue Ave Av Bayou Byu Beach Bch Bend Bnd Bluffs? Blfs? Bottom
Btm Boulevard Blvd Branch Br Bridge Brg Brooks? Brks? Burgs? Bgs? Bypass Byp Camp Cp Canyon Cyn
Cape Cpe Causeway Cswy Centers? Ctrs? Circles? Cirs? Cliffs? Clfs? Club Clb Commons? Cmns?
Corners? Cors? Course Crse Courts? Cts? Coves? Cvs? Creek Crk Crescent Cres Crest Crst Crossing
Xing Crossroads? Xrds? Curve Curv Dale Dl Dam Dm Divide Dv Drives? Drs? Dr Estates? Ests? Est
Expressway Expy Extensions? Exts? Ext Falls? Fls? Ferry Fry Fields? Flds? Flats? Flts? Fords?
Frds? Forest Frst Forges? Frgs? Forks? Frks? Fort Ft Freeway Fwy Gardens? Gdns? Gateway Gtwy
Glens? Glns? Greens? Grns? Groves? Grvs? Harbors? Hbrs? Haven Hvn Heights Hts Highway Hwy
Hills? Hls? Hollow Holw Inlet Inlt Islands? Iss? Is Isle Junctions? Jcts? Keys? Kys? Knolls?
Knls? Lakes? Lks? Land Landing Lndg Lane Ln Lights? Lgts? Loaf Lf Locks? Lcks? Lodge Ldg Loop
Mall Manors? Mnrs? Meadows? Mdws? Mews Mills? Mls? Mission Msn Motorway Mtwy Mount Mt Mountains?
Mtns? Neck Nck Orchard Orch Oval Overpass Opas Parks? Parkways? Pkwys? Pkwy Pass Passage Psge
Path Pike Pines? Pnes? Places? Pl Plains? Plns? Plaza Plz Points? Pts? Pt Ports? Prts? Prt Prairie
Pr Radial Radl Ramp Ranch Rnch Rapids? Rpds? Rpd Rest Rst Ridges? Rdgs? Rdg River Riv Roads? Rds?
Rd Route Rte Row Rue Run Shoals? Shls? Shores? Shrs? Skyway Skwy Springs? Spgs? Spg Spurs? Squares?
Sqs? Sq Station Sta Stravenue Stra Stream Strm Streets? Sts? St Summit Smt Terrace Ter Throughway
Trwy Trace Trce Track Trak Trafficway Trfy Trail Trl Trailer Trlr Tunnel Tunl Turnpike Tpke
Underpass Upas Unions? Uns? Un Valleys? Vlys? Vly Viaduct Via Views? Vws? Vw Villages? Vlgs? Vlg
Ville Vl Vista Vis Walks? Wall Ways? Wy Wells? Wls?
Close Drove Embankment Grove Parade Rise Wharf Yard Green Approach Hill Gate Broadway Roadway
Access Brace Break Brow Chase Circlet Circuit Concourse Corso Dip Edge Elbow End Entrance
Esplanade Fairway Firetrail Follow Formation Frontage Gap Glade Grange Highroad Interchange
Intersection Laneway Line Link Lookout Meander Nook Outlook Pathway Pocket Promenade Quay Quays
Ramble Reach Reserve Retreat Ridgeway Round Serviceway Slope Strip Subway Tarn Thoroughfare
Tollway Top Tor Turn Twist Vale Walkway Waters Wynd
Marg Chowk Nagar Colony Layout Bazar Bagh Gali Sector Enclave Vihar Puram Zila Peth Wadi
"""
_STATE_NAMES = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
    r"Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
    r"Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New[ \t]+Hampshire|"
    r"New[ \t]+Jersey|New[ \t]+Mexico|New[ \t]+York|North[ \t]+Carolina|North[ \t]+Dakota|Ohio|"
    r"Oklahoma|Oregon|Pennsylvania|Rhode[ \t]+Island|South[ \t]+Carolina|South[ \t]+Dakota|"
    r"Tennessee|Texas|Utah|Vermont|Virginia|Washington|West[ \t]+Virginia|Wisconsin|Wyoming|"
    r"Puerto[ \t]+Rico|District[ \t]+of[ \t]+Columbia"
)
_SUFFIX_RE = "|".join(sorted(_SUFFIXES.split(), key=len, reverse=True))
_CAP = rf"[{_UP}][{_UP}{_LO}'’\-]*\.?"
_ORD = r"\d{1,3}(?:st|nd|rd|th)"
_SMALL = r"(?:of|the|de|la|del|van|von)"
_STREET_WORDS = rf"(?:(?:{_CAP}|{_ORD}|{_SMALL})[ \t]+){{0,4}}"
_HOUSE = (
    r"(?:(?:Flat|Apt\.?|Apartment|Suite|Ste\.?|Unit|Level|Shop|Bldg\.?|Room|Rm\.?|Villa|Block)"
    r"[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?"
    r"(?:/\d{1,4}[A-Za-z]?)?,?[ \t]+)?"
    r"(?:(?:House|Door|Plot|H\.)[ \t]*No\.?[ \t]*)?\d{1,6}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
)
_UNIT_WORD = r"(?i:apt|apartment|suite|ste|unit|flat|fl|floor|rm|room|bldg|building|lot|space|ph)"
_UNIT = (
    rf"(?:(?:,?[ \t]+|,?[ \t]*\n[ \t]*){_UNIT_WORD}\.?[ \t]*#?[ \t]*[\w-]{{1,6}}"
    r"|,?[ \t]+#[ \t]*[\w-]{1,6})?"
)
_POSTCODE = (
    r"(?:\d{5}(?:-\d{4})?"  # US
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}"  # UK
    r"|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d"  # CA
    r"|[A-Z]\d[\dW][ \t]?[A-Z0-9]{4}"  # IE (Eircode)
    r"|\d{4}[ \t]?[A-Z]{2}(?![A-Za-z])"  # NL
    r"|\d{4})"  # AU and others
)
# a city word after "Ville." does not go on into the next sentence ("... Ville. BP 150/90");
# after an abbreviation ("St. Louis") it does
_CITY = rf"[{_UP}][{_UP}{_LO}'’.\-]*(?:(?<![^\W\d_]{{4}}\.)[ \t]+[{_UP}][{_UP}{_LO}'’.\-]*){{0,3}}"
_SEP = r"(?:,[ \t]*\n?[ \t]*|[ \t]*\n[ \t]*|,?[ \t]+)"
# ", City, ST 12345" / ", City ST 12345" / "\nCity\nTR3 5AA" / ", City, QLD, 2963" / ", City" +
# postcode; a bare city needs a state or a postcode after it.
_EIRCODE = r"[A-Z]\d[\dW][ \t]?[A-Z0-9]{4}"
_TAIL = (
    rf"(?:[ \t]+{_EIRCODE}[ \t]+{_CITY}\b|{_SEP}{_CITY}(?:,?[ \t]+|[ \t]*\n[ \t]*)"
    rf"(?:{_POSTCODE}|(?:{_STATE_NAMES}|[A-Z]{{2,3}}\.?)(?:,?[ \t]+{_POSTCODE})?)\b"
    rf"|{_SEP}{_CITY}[ \t]*[-–][ \t]*\d{{6}}\b)?"
)
_DIRECTION = r"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
_US_STYLE = re.compile(
    rf"\b{_HOUSE},?[ \t]+{_STREET_WORDS}(?:(?:{_CAP}|{_ORD})[ \t]+)(?i:{_SUFFIX_RE})\b\.?"
    rf"{_DIRECTION}{_UNIT}{_TAIL}"
)
_DE_STREET = r"(?i:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|steig|pfad)"
_DE_STYLE = re.compile(
    rf"\b(?:[A-ZÄÖÜ][\wäöüß\-]*[ \t]+)?[A-ZÄÖÜ][\wäöüß\-]*?(?:{_DE_STREET}|[ \t]+(?:Straße|Strasse|"
    rf"Weg|Platz|Allee|Gasse|Ring|Damm))[ \t]+\d{{1,4}}[a-z]?(?:[ \t]*[-/][ \t]*\d{{1,4}}[a-z]?)?"
    rf"(?:{_SEP}\d{{5}}[ \t]+{_CITY})?"
)
_ROMANCE_TYPES = (
    r"(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|passage|"
    r"calle|c/|avenida|avda\.|plaza|paseo|camino|ronda|via|viale|piazza|corso|largo|vicolo|"
    r"rua|travessa|alameda|praça)"
)
_ROMANCE_NAME = r"(?:(?:de|du|des|la|le|l'|d'|del|della|di|da|do|dos|das)[ \t]*)*[A-ZÀ-Ý][\w'’\-]*"
_FR_STYLE = re.compile(
    rf"\b\d{{1,4}}(?:[ \t]*(?:bis|ter))?,?[ \t]+(?i:{_ROMANCE_TYPES})[ \t]+{_ROMANCE_NAME}"
    rf"(?:[ \t]+{_ROMANCE_NAME}){{0,3}}(?:{_SEP}\d{{5}}[ \t]+{_CITY})?"
)
_SOUTH_STYLE = re.compile(
    rf"\b(?i:{_ROMANCE_TYPES})[ \t]+{_ROMANCE_NAME}(?:[ \t]+{_ROMANCE_NAME}){{0,3}},?[ \t]+"
    rf"(?:n\.?º?[ \t]*)?\d{{1,4}}[A-Za-z]?(?:[ \t]+(?i:puerta|piso|apt\.?)[ \t]+\w{{1,4}})?"
    rf"(?:{_SEP}\d{{5}},?[ \t]+{_CITY}(?:[ \t]+\([A-Z]{{2}}\))?)?"
)
_MILITARY = re.compile(
    r"\b(?:PSC[ \t]+\d{3,5},[ \t]+Box[ \t]+\d{3,5}|Unit[ \t]+\d{3,5}[ \t]+Box[ \t]+\d{3,5}|"
    rf"US[NS][SV]?[ \t]+[{_UP}][{_LO}]+|USCGC[ \t]+[{_UP}][{_LO}]+)"
    r"(?:,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)(?:APO|FPO|DPO)[ \t]+A[AEP][ \t]+\d{5}\b"
)


# Europe and Latin America: "<street words> [Nr.] <number>[/<flat>] [units], <postcode> <City>"
# or "..., <City>, <postcode>"; the postcode + city (or city + postcode) tail is what makes a
# street line an address, so the street part itself may be any words ("Kyrkvägen 518",
# "ul. Daszyńskiego 296", "Strada Ruxanda Gheorghiu Nr. 20 Bl. 17 Sc. 79 Ap. 215").
_W = rf"[{_UP}{_LO}\w'’.\-]"
_EU_PREFIX = (
    r"(?:ul|al|os|pl|plac|aleja|ulica|rua|av|avda|calle|c/|via|viale|rue|travessa|strada|"
    r"drumul|intrarea|str|gang|jalan|jl|ngõ|đường|cesta|ulice|trg|utca|út)\.?"
)
_EU_SMALL = (
    r"(?:utca|út|útja|tér|körút|sor|köz|ulica|aleja|de|del|dos|das|da|do|di|della|van|von|der|"
    r"den|och|y|e|sur|du|des|le|les|la|los|las|am|an|im|auf|số|nad|pod|na|u|v|ve)"
)
_MONTH_WORDS = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|January|February|March|April|June|"
    r"July|August|September|October|November|December|Seen|On|Since|Dated?|Day|Week|Room|Bed|"
    r"Page|Table|Version|Step|Phase|Grade|Stage|Type|Class|Level|Dose|Cycle)\b"
)
_EU_STREET = (
    rf"(?:(?i:{_EU_PREFIX})[ \t]+)?(?!{_MONTH_WORDS})[{_UP}]{_W}*"
    rf"(?:[ \t]+(?:[{_UP}]{_W}*|{_EU_SMALL}|\d{{1,3}}(?:st|nd|rd|th)?)){{0,4}}?,?[ \t]+"
    r"(?:(?:Nr|No|N°|Nº|nº|n\.º|Nro)\.?[ \t]*)?\d{1,5}[A-Za-z]?(?:[/\-]\d{1,5}[A-Za-z]?)?\.?"
    r"(?:[ \t]+\d{1,5}(?=,))?"
    r"(?:[ \t,]+(?:(?:Bl|Sc|Ap|Et|Interior|Int|Oficina|Of|Edif|Depto|Dpto|Piso|Apt|Suite|"
    r"Unit|Puerta|Esc|Casa|Lok|m|(?i:apto|bus|boîte|stiege|top|whg))\.?[ \t]*[\w\-]{1,6}|"
    r"\d{1,2}[ºª°]"
    r"(?:[ \t]*[A-Z0-9]\b)?|-[ \t]*(?i:apto|apt|ap)\.?[ \t]*\w{1,6})){0,4}"
)
_EU_POST = (
    r"(?:\d{5}-\d{3}|\d{4}-\d{3}|(?:[A-Z]{1,2}-)?\d{4,6}|\d{2}-\d{3}|\d{3}[ \t]\d{2}|"
    r"[A-Z]{2}[ \t]\d{5}|\d{4}[ \t]?[A-Z]{2}(?![A-Za-z]))"
)
_EU_CITY = (
    rf"[{_UP}]{_W}*(?:(?<!\.)[ \t]+(?:[{_UP}]{_W}*|(?:de|del|la|los|las|nad|pod|am|an|im|sur|sous|"
    rf"le|les|di|da|do|dos|das|op|aan|upon|on)\b)){{0,4}}(?:[ \t]+\([A-Z]{{2}}\))?"
)
_EU_STYLE = re.compile(
    rf"(?<![\w])(?:{_EU_STREET})[ \t]*(?:,[ \t]*\n?|\n)[ \t]*"
    rf"(?:{_EU_POST},?[ \t]+{_EU_CITY}|{_EU_CITY}(?:,[ \t]*{_EU_CITY})?,?[ \t]+"
    rf"(?:[A-Z]{{2,3}}\.?[ \t]+)?{_EU_POST}(?:-\d{{4}})?"
    rf"|{_EU_CITY}[ \t]*[-–][ \t]*[A-Z]{{2}},?[ \t]+{_EU_POST}|{_EU_POST},[ \t]*{_EU_CITY})"
    r"(?![\w])"
)
_PO_BOX = re.compile(
    rf"\b(?:P\.?[ \t]?O\.?[ \t]?Box|Postfach|Apartado|Caixa Postal)[ \t]+\d{{1,6}}"
    rf"(?:(?:,[ \t]*\n?|\n)[ \t]*(?:{_EU_CITY},?[ \t]+{_EU_POST}|{_EU_POST}[ \t]+{_EU_CITY}))?"
)


_NOT_CITY = frozenset(
    "units unit tablets tablet daily doses dose times patients cases mg ml hours days weeks "
    "months years".split()
)


class StreetAddressRecognizer(_LocalRecognizer):
    """Street addresses (entity ``STREET_ADDRESS``); 0.9 with a city/postcode tail, else 0.7."""

    PATTERNS = (_US_STYLE, _DE_STYLE, _FR_STYLE, _SOUTH_STYLE, _MILITARY, _EU_STYLE, _PO_BOX)

    ENTITIES = ("STREET_ADDRESS",)
    CONTEXT = ("address", "addr", "street", "lives", "resides", "residence")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        from privtrain.deid._vocab import medical_terms

        spans: list[tuple[int, int]] = []
        for pattern in self.PATTERNS:
            for m in pattern.finditer(text):
                s, e = m.start(), m.end()
                if pattern is _EU_STYLE:
                    # "Lipitor 20, 1000 Units": a drug and a dose, not a street and a city
                    words = re.findall(r"[^\W\d_]{3,}", m.group())
                    if words and (
                        words[0].lower() in medical_terms() or words[-1].lower() in _NOT_CITY
                    ):
                        continue
                while e > s and text[e - 1] in " \t\n,.":
                    e -= 1
                if e - s >= 6:
                    spans.append((s, e))
        spans.sort(key=lambda se: (se[0], -se[1]))
        results: list[RecognizerResult] = []
        last_end = -1
        for s, e in spans:
            if s < last_end:
                continue
            last_end = e
            tail = "," in text[s:e] or "\n" in text[s:e] or re.search(r"\d{4,5}\s*$", text[s:e])
            results.append(_result("STREET_ADDRESS", s, e, 0.9 if tail else 0.7, self))
        return results


# -------------------------------------------------------------------------------- names

_NAME_TOKEN = (
    rf"(?:(?:O['’]|Ma?c)[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}'’]+)?|"
    rf"[{_UP}][{_LO}'’]+(?:-[{_UP}][{_LO}'’]+)?)"
)
_CAPS_TOKEN = rf"(?:[{_UP}]{{2,}}(?:[-'’][{_UP}]+)?)"
_PARTICLE = (
    r"(?:van|von|de|da|di|del|della|dei|degli|dos|das|du|le|la|bin|ibn|ben|al|el|ter|ten|der|"
    r"den|zu|af|av|y)"
)
_INITIAL = r"[A-Z]\.?"


def _name_re(tok: str) -> str:
    # "K. Gieroń", "A. de Dardel": an initial with its dot may open a name
    return (
        rf"(?:[{_UP}]\.[ \t]*(?:{_PARTICLE}[ \t]+)*)?"
        rf"{tok}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*(?:{tok}|{_INITIAL}(?![\w]))){{0,3}}"
    )


_NAME = _name_re(_NAME_TOKEN)
_CAPS_NAME = rf"{_CAPS_TOKEN}(?:[ \t]+(?:{_CAPS_TOKEN}|{_INITIAL}(?![\w]))){{1,3}}"
_LAST_FIRST = (
    rf"(?:{_NAME_TOKEN},[ \t]+{_NAME_TOKEN}(?:[ \t]+(?:{_NAME_TOKEN}|{_INITIAL}(?![\w])))?"
    rf"|{_CAPS_TOKEN},[ \t]+{_CAPS_TOKEN}(?:[ \t]+(?:{_CAPS_TOKEN}|{_INITIAL}(?![\w])))?)"
)
_ANY_NAME = rf"(?P<name>{_LAST_FIRST}|{_CAPS_NAME}|{_NAME})"

_TITLES = (
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor|Nurse|Sr|Sra|Srta|Mme|Mlle|Herr|Frau|Dra|"
    r"Dott|Dott\.ssa|Sig|Sig\.ra|Signora|Signor|Don|Doña|Dña|Dhr|Mevr|Hr|Fr|Pan|Pani|Ing|Mag|"
    r"Rev|Sister|Brother|med|M(?=\.))"
)
_LABELS = (
    r"(?:patient(?:[ \t]+name)?|pt|name|full[ \t]+name|contact|seen(?=[ \t]*:)|"
    r"emergency[ \t]+contact|"
    r"next[ \t]+of[ \t]+kin|nok|referred[ \t]+by|referring(?:[ \t]+physician)?|attending|"
    r"provider|physician|clinician|signed(?:[ \t]+by)?|(?:electronically[ \t]+)?signed"
    r"(?:[ \t]+electronically)?[ \t]+by|dictated[ \t]+by|verified[ \t]+by|authenticated[ \t]+by|"
    r"reviewed[ \t]+by|intake[ \t]+for|seen[ \t]+by|caregiver|guardian|"
    r"informant|surrogate|proxy|poa|witness|interpreter|customer|client|employee|tenant|"
    r"landlord|card[ \t]?holder|applicant|recipient|user|owner|member|resident|candidate|"
    r"engineer|technician|officer|agent|manager|supervisor|consultant|caller|claimant|"
    r"subscriber|account[ \t]+holder|beneficiary|student|driver|passenger|guest|visitor|"
    r"author|sender|addressee|assignee|reporter|requester|escalated[ \t]+to|assigned[ \t]+to|"
    r"attention|attn|c/o|care[ \t]+of|employer|prescriber|referral[ \t]+to|referred[ \t]+to|"
    r"registered[ \t]+to|enrolled[ \t]+for|interpreter(?:[ \t]+present)?[ \t]+for|"
    r"family[ \t]+member|seen[ \t]+with|accompanied[ \t]+by|patient[ \t]+is|insured|"
    r"policyholder|policy[ \t]+holder|decedent|deceased|mother[ \t]+of|father[ \t]+of)"
)
_GREETINGS = r"(?:hi|hello|hey|dear|good[ \t]+(?:morning|afternoon|evening))"
_SIGNOFFS = (
    r"(?:thanks|thank[ \t]+you|regards|kind[ \t]+regards|best[ \t]+regards|best[ \t]+wishes|"
    r"warm[ \t]+regards|best|cheers|sincerely|yours[ \t]+sincerely|yours[ \t]+truly|"
    r"respectfully|cordially)"
)
_KIN = (
    r"(?:wife|husband|spouse|partner|son|daughter|mother|father|mom|mum|dad|sister|brother|"
    r"sibling|aunt|uncle|niece|nephew|cousin|grandson|granddaughter|grandmother|grandfather|"
    r"grandma|grandpa|fianc[eé]e?|friend|neighbou?r|roommate|stepson|stepdaughter|stepmother|"
    r"stepfather|child|parent|caretaker|guardian|boyfriend|girlfriend)"
)
_NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december the a an and or but he she they
    we it his her their this that no none unknown not na n/a denies reports states said was
    is are has had will would patient pt er icu ed or pcp sir madam team all everyone there
    colleagues customer again seen today yesterday tomorrow tonight presented presents admitted
    discharged reports reported states stated called calls visited visits came comes for with
    to at in on from by of as if per re via who which prof dr mr mrs ms mx dott dra sra srta
    herr frau mme mlle nurse doctor professor""".split()
)
_TITLE_RE = re.compile(rf"\b(?:{_TITLES}\.?[ \t]+)+{_ANY_NAME}")
# a lower-case name right after a strong cue ("Pt salomón arnau", "daughter xavier texier")
_LOWER_TOKEN = rf"[{_LO}][{_LO}'’]+(?:-[{_LO}][{_LO}'’]+)?"
_LOWER_CUE = re.compile(
    rf"\b(?i:pt|patient|patient[ \t]+name|name|{_KIN}|seen[ \t]+with|interpreter[ \t]+for|"
    r"(?-i:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Srta|Mme|Mlle|Herr|Frau|Dra|Dott|Sig|Dhr|Mevr|"
    r"Pan|Pani)\.?|"
    r"contact|caller|employee|client|customer|resident|tenant|per|d/w|discussed[ \t]+with|"
    r"spoke[ \t]+(?:with|to)|seen[ \t]+w/|family|cc|message[ \t]+(?:left[ \t]+)?for|"
    r"called|caregiver|visitor|family[ \t]+member|signed|attending)[ \t]*[:,]?[ \t]+"
    rf"(?P<name>(?:[{_LO}]\.[ \t]*|(?:{_PARTICLE}[ \t]+)+)?{_LOWER_TOKEN}"
    rf"(?:,?[ \t]+(?:[{_LO}]\.[ \t]+)?(?:{_PARTICLE}[ \t]+)*{_LOWER_TOKEN}){{0,2}})"
    r"(?![\w])"
)
_LABEL_RE = re.compile(rf"\b(?i:{_LABELS})\.?(?:[ \t]*[:\-–,][ \t]*|[ \t]+){_ANY_NAME}")
_GREETING_RE = re.compile(
    rf"(?:^|(?<=[\n.!?;:]))[ \t]*(?i:{_GREETINGS})[ \t]*,?[ \t]+{_ANY_NAME}", re.MULTILINE
)
_SIGNOFF_RE = re.compile(rf"\b(?i:{_SIGNOFFS})[ \t]*,[ \t]*\n?[ \t]*{_ANY_NAME}")
_KIN_RE = re.compile(
    rf"\b(?i:{_KIN})(?:[ \t]*[,:(][ \t]*|[ \t]+(?i:named|called|is|was)[ \t]+|[ \t]+){_ANY_NAME}"
)


def _trim_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    words = text[start:end].split()
    if not words:
        return None
    initial = len(words[0]) == 2 and words[0][1] == "." and words[0][0].isupper()
    if not initial and words[0].rstrip(",.").lower() in _NOT_NAMES:
        return None
    # drop trailing words that are common non-name words ("John Smith Was")
    while len(words) > 1 and words[-1].rstrip(",.").lower() in _NOT_NAMES:
        end = start + text[start:end].rfind(words[-1])
        words = words[:-1]
    while end > start and text[end - 1] in " \t,":
        end -= 1
    return start, end


def _lower_name(name: str) -> int | None:
    """Length of the lower-case name that opens ``name`` ("xavier texier", "s. lemaître",
    "palastri, galih"), or None: no word may be a stop word, a common non-name word or a
    medical word; two words or more (an initial and one word is enough), and one word must
    be a census or world given name or surname or carry a diacritic."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from privtrain.deid._vocab import given_names, medical_terms, surnames, world_given_names

    med = medical_terms()
    keep_end = 0
    words: list[str] = []
    initial = False
    prev = 0
    for m in re.finditer(r"[^\s,]+", name):
        w = m.group()
        if "," in name[prev : m.start()] and len(words) + initial >= 2:
            break  # "lucía ferrán, aged 40": a comma after a whole name ends it
        prev = m.end()
        if re.fullmatch(rf"[{_LO}]\.", w):
            initial = True
            continue
        if re.fullmatch(_PARTICLE, w) and m.end() < len(name):
            continue
        if w in STOP_WORDS or w in _NOT_NAMES or w in med:
            break
        if len(words) >= 2 and not any(
            p in given_names() or p in world_given_names() or p in surnames() for p in w.split("-")
        ):
            break  # a third word must be a known name ("irmeli viljanen sent")
        words.append(w)
        keep_end = m.end()
    if not words or (len(words) < 2 and not initial):
        return None
    parts = [p for w in words for p in w.split("-")]
    if not any(
        p in given_names() or p in world_given_names() or p in surnames() or not p.isascii()
        for p in parts
    ):
        return None
    return keep_end


def lower_name_after_cue(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is a lower-case name right after a strong cue
    ("pt lucía ferrán"), as :class:`ContextNameRecognizer` finds them."""
    lo = max(0, start - 40)
    for m in _LOWER_CUE.finditer(text, lo, min(len(text), end + 40)):
        if m.start("name") == start and _lower_name(m.group("name")):
            return True
    return False


def lower_name_start(text: str, start: int, end: int) -> int:
    """Where a lower-case name inside ``text[start:end]`` begins when the span opens with its
    cue ("daughter xavier texier" -> "xavier texier"); ``start`` when there is none."""
    for m in _LOWER_CUE.finditer(text, max(0, start - 40), min(len(text), end + 40)):
        s = m.start("name")
        if start < s < end and _lower_name(m.group("name")):
            return s
    return start


class ContextNameRecognizer(_LocalRecognizer):
    """Names after a title, a label or a kinship word (entity ``PERSON``)."""

    RULES = (
        (_TITLE_RE, 0.75),
        (_LABEL_RE, 0.6),
        (_KIN_RE, 0.65),
        (_GREETING_RE, 0.6),
        (_SIGNOFF_RE, 0.6),
    )

    ENTITIES = ("PERSON",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out: list[RecognizerResult] = []
        for rx, score in self.RULES:
            for m in rx.finditer(text):
                span = _trim_name(text, m.start("name"), m.end("name"))
                if span:
                    out.append(_result("PERSON", span[0], span[1], score, self))
        pos = 0
        while (m := _LOWER_CUE.search(text, pos)) is not None:
            pos = m.start("name")  # cues may follow each other ("with her daughter ...")
            span = _lower_name(m.group("name"))
            if span:
                out.append(_result("PERSON", pos, pos + span, 0.55, self))
                pos += span
        return out


_ORG_WORDS = frozenset(
    """inc inc. llc ltd ltd. plc corp corp. co co. company corporation group holdings bank
    hospital clinic university college school institute foundation association society church
    agency ministry department dept office council committee trust partners systems
    technologies technology solutions services health healthcare medical pharmacy labs
    laboratories center centre international global industries enterprises consulting
    insurance capital financial airlines motors store shop market ventures network media press
    gmbh ag sa srl bv nv""".split()
)


class NerOrgNameRecognizer(_LocalRecognizer):
    """Person-shaped spans the NER model labelled ORG (which presidio drops): two to four
    capitalised words, or "Last, First", with no digits and no organisation word (Inc, Bank,
    Hospital, ...). The small English model labels many unfamiliar names ORG."""

    ENTITIES = ("PERSON",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        if nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        out = []
        for ent in nlp_artifacts.tokens.ents:
            if ent.label_ != "ORG":
                continue
            s, e = ent.start_char, ent.end_char
            words = text[s:e].replace(",", " ").split()
            if not 2 <= len(words) <= 4 or any(c.isdigit() or c in "&@/" for c in text[s:e]):
                continue
            if any(w.lower().strip(".") in _ORG_WORDS for w in words):
                continue
            if all(
                w[0].isupper() and (w[1:].islower() or w.isupper() or "-" in w)
                for w in words
                if len(w) > 1
            ):
                span = _trim_name(text, s, e)
                if span:
                    out.append(_result("PERSON", span[0], span[1], 0.5, self))
        return out


_LF_RE = re.compile(rf"\b(?P<name>{_LAST_FIRST})(?![\w])")


_LOCATIVE = re.compile(r"(?i:\b(?:in|from|to|at|near|into|via|towards|of|outside|around))\s+$")


class LastFirstNameRecognizer(_LocalRecognizer):
    """ "Smith, John [A.]" / "SMITH, JOHN" when the NER model sees a named entity in it (any
    type: the small model often calls such names places or organisations) and no locative
    preposition ("in", "from", ...) precedes it, as in "in Paris, France"."""

    ENTITIES = ("PERSON",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        if nlp_artifacts is None or nlp_artifacts.tokens is None or "," not in text:
            return []
        ents = [
            (e.start_char, e.end_char, e.label_)
            for e in nlp_artifacts.tokens.ents
            if e.label_ in ("PERSON", "GPE", "LOC", "ORG", "NORP", "FAC")
        ]
        if not ents:
            return []
        out: list[RecognizerResult] = []
        for m in _LF_RE.finditer(text):
            s, e = m.span("name")
            hits = [lab for ps, pe, lab in ents if ps < e and s < pe]
            if not hits:
                continue
            if "PERSON" not in hits and _LOCATIVE.search(text, max(0, s - 12), s):
                continue
            span = _trim_name(text, s, e)
            if span:
                out.append(
                    _result("PERSON", span[0], span[1], 0.8 if "PERSON" in hits else 0.6, self)
                )
        return out


# ------------------------------------------------------------------------ ALL-CAPS text

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_RUN_GAP = re.compile(r"[ \t]*,?[ \t]+(?:[^\W\d_]\.?[ \t]+)?")
#: ALL-CAPS tokens that are labels or abbreviations, not names: they end a run.
_ACRONYMS = frozenset(
    """SSN DOB PHONE TEL FAX EMAIL MRN ID NI NINO ADDRESS NAME DATE SEX AGE BP HR RR ER ED ICU
    PCP DX HX RX TX SX PT MD RN NP USA US UK EU NHS COVID HIV COPD CHF CT MRI EKG ECG CBC BMP CMP
    WBC UTI URI AM PM NKDA DNR CPR IV PO PRN BID TID QID QD MG ML KG CM IP URL VPN OK NO YES N/A
    AND OR THE OF FOR WITH""".split()
)


def normalize_caps(text: str) -> str:
    """Title-case runs of two or more ALL-CAPS words ("JOHN SMITH" -> "John Smith").

    Label words and abbreviations (SSN, DOB, ICU, ...) are left alone and end a run. The
    result has the same length as ``text`` so entity offsets stay valid.
    """
    words = [
        m
        for m in _WORD.finditer(text)
        if len(m.group()) >= 2 and m.group().isupper() and m.group() not in _ACRONYMS
    ]
    if len(words) < 2:
        return text
    chars = list(text)
    run: list[re.Match[str]] = []

    def flush() -> None:
        if 2 <= len(run) <= 3:
            for m in run:
                w = m.group()
                t = w[0] + w[1:].lower()
                if len(t) == len(w):
                    chars[m.start() : m.end()] = t

    for m in words:
        # a name has at most four words: longer capital runs are shouted sentences
        if run and len(run) < 4 and _RUN_GAP.fullmatch(text, run[-1].end(), m.start()):
            run.append(m)
        else:
            flush()
            run = [m]
    flush()
    return "".join(chars)
