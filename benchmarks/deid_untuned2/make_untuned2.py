"""Second frozen, untuned evaluation set for free-text de-identification.

    .venv/bin/python benchmarks/deid_untuned2/make_untuned2.py           # writes untuned2.jsonl
    .venv/bin/python benchmarks/deid_untuned2/make_untuned2.py --check   # regenerate, compare bytes
    .venv/bin/python benchmarks/deid_untuned2/make_untuned2.py --stats   # counts for the README

Templates and hand-written value lists live in ``_untuned2_templates.py``; this file holds the
value makers (Faker per locale plus hand-written format generators), the renderer that tracks
character offsets, the span checks and the output. Every record is one JSON object per line
(keys sorted, UTF-8): ``id``, ``text``, ``spans`` ([start, end, LABEL]), ``keep``
([start, end, MEDICAL_TERM|CLINICAL_VALUE]), ``span_src`` (how each gold value was made),
``locale`` and ``templates``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import string
import sys
from collections import Counter
from pathlib import Path

if os.environ.get("PYTHONHASHSEED") != "0":  # some Faker providers build lists from sets
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

import logging  # noqa: E402
import random  # noqa: E402

from faker import Faker  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _untuned2_templates as T  # noqa: E402

logging.getLogger("faker").setLevel(logging.ERROR)  # en_PH bank numbers log a notice

SEED = 7_340_033
N_RECORDS = 2000
OUT = HERE / "untuned2.jsonl"

# locale -> (weight, locale for addresses/cities/postcodes, phone country)
LOCALES: dict[str, tuple[int, str, str]] = {
    "en_US": (8, "en_US", "US"), "en_GB": (3, "en_GB", "GB"), "en_AU": (1, "en_AU", "AU"),
    "en_CA": (1, "en_CA", "US"), "en_IE": (1, "en_GB", "IE"), "en_IN": (2, "en_IN", "IN"),
    "en_NZ": (1, "en_NZ", "NZ"), "en_NG": (1, "en_GB", "NG"), "en_KE": (1, "en_GB", "KE"),
    "yo_NG": (1, "en_US", "NG"), "ig_NG": (1, "en_GB", "NG"), "tw_GH": (1, "en_US", "GH"),
    "zu_ZA": (1, "zu_ZA", "ZA"), "de_DE": (2, "de_DE", "DE"), "de_AT": (1, "de_AT", "AT"),
    "de_CH": (1, "de_CH", "CH"), "fr_FR": (2, "fr_FR", "FR"), "fr_CA": (1, "fr_CA", "US"),
    "it_IT": (2, "it_IT", "IT"), "es_ES": (2, "es_ES", "ES"), "es_MX": (2, "es_MX", "MX"),
    "es_AR": (1, "es_AR", "AR"), "es_CO": (1, "es_CO", "CO"), "es_CL": (1, "es_CL", "CL"),
    "pt_BR": (2, "pt_BR", "BR"), "pt_PT": (1, "pt_PT", "PT"), "nl_NL": (1, "nl_NL", "NL"),
    "nl_BE": (1, "nl_BE", "BE"), "pl_PL": (2, "pl_PL", "PL"), "cs_CZ": (1, "cs_CZ", "CZ"),
    "sk_SK": (1, "sk_SK", "CZ"), "hu_HU": (1, "hu_HU", "HU"), "ro_RO": (1, "ro_RO", "RO"),
    "hr_HR": (1, "hr_HR", "HR"), "sl_SI": (1, "sl_SI", "HR"), "da_DK": (1, "da_DK", "DK"),
    "sv_SE": (1, "sv_SE", "SE"), "no_NO": (1, "no_NO", "NO"), "fi_FI": (1, "fi_FI", "FI"),
    "is_IS": (1, "da_DK", "IS"), "lt_LT": (1, "pl_PL", "LT"), "el_GR": (1, "el_GR", "GR"),
    "tr_TR": (1, "de_DE", "TR"), "ru_RU": (1, "ru_RU", "RU"), "uk_UA": (1, "uk_UA", "UA"),
    "ka_GE": (1, "ka_GE", "GE"), "ar_SA": (2, "en_GB", "SA"), "fa_IR": (1, "en_US", "IR"),
    "he_IL": (1, "he_IL", "IL"), "ja_JP": (1, "ja_JP", "JP"), "zh_CN": (1, "zh_CN", "CN"),
    "zh_TW": (1, "zh_TW", "TW"), "ko_KR": (1, "ko_KR", "KR"), "vi_VN": (1, "en_AU", "VN"),
    "th_TH": (1, "th_TH", "TH"), "id_ID": (1, "id_ID", "ID"), "en_PH": (1, "en_US", "PH"),
    "bn_BD": (1, "en_GB", "BD"), "hi_IN": (1, "en_IN", "IN"),
}  # fmt: skip
FAMILY_FIRST = {"hu_HU", "ja_JP", "zh_CN", "zh_TW", "ko_KR", "vi_VN"}
NO_SPACE = {"ja_JP", "zh_CN", "zh_TW", "ko_KR"}
# Faker phone_number() is national-format for these; elsewhere hand formats are used
FAKER_PHONE_OK = {"en_GB", "en_AU", "en_IN", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR",
                  "it_IT", "es_ES", "es_AR", "es_CO", "es_CL", "pt_BR", "pt_PT", "nl_NL",
                  "nl_BE", "pl_PL", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "hr_HR", "da_DK",
                  "sv_SE", "no_NO", "fi_FI", "el_GR", "ru_RU", "uk_UA", "he_IL", "ja_JP",
                  "zh_TW", "ko_KR", "th_TH", "id_ID", "en_US", "tr_TR"}  # fmt: skip

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
MON3 = [m[:3] for m in MONTHS]
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # CMS: no S, L, O, I, B, Z
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_VAL = {**{str(d): d for d in range(10)},
           **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
           **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
           **dict(zip("STUVWXYZ", range(2, 10), strict=True))}  # fmt: skip
VIN_W = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_YEAR = "ABCDEFGHJKLMNPRSTVWXY123456789"

# label for each slot family (the renderer also accepts keep kinds)
PERSON_SLOTS = {"pt", "pt_first", "pt_last", "pt_ini", "rel", "rel_first", "doc", "doc_last",
                "doc2", "doc2_last", "nurse", "name", "first", "wname", "wfirst",
                "wlast"}  # fmt: skip


class Gen:
    """Value makers; one per generator run, fixed seeds."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.fk: dict[str, Faker] = {}
        need = sorted(set(LOCALES) | {v[1] for v in LOCALES.values()})
        for i, loc in enumerate(need):
            f = Faker(loc)
            f.seed_instance(seed * 1000 + i)
            self.fk[loc] = f

    # ------------------------------------------------------------------ helpers
    def d(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def pat(self, p: str) -> str:
        """# digit, N non-zero digit, A upper letter, a lower letter, X upper alnum, h hex;
        a backslash makes the next character literal."""
        out = []
        esc = False
        for c in p:
            if esc:
                out.append(c)
                esc = False
            elif c == "\\":
                esc = True
            elif c == "#":
                out.append(self.r.choice(string.digits))
            elif c == "N":
                out.append(self.r.choice("123456789"))
            elif c == "A":
                out.append(self.r.choice(string.ascii_uppercase))
            elif c == "a":
                out.append(self.r.choice(string.ascii_lowercase))
            elif c == "X":
                out.append(self.r.choice(string.ascii_uppercase + string.digits))
            elif c == "h":
                out.append(self.r.choice("0123456789abcdef"))
            else:
                out.append(c)
        return "".join(out)

    # ------------------------------------------------------------------ names
    def name(self, loc: str) -> tuple[dict, str]:
        """A person as {given, family, full, lower_ok}, and its source tag."""
        x = self.r.random()
        if x < 0.22:  # hand-written, many cultures
            g = self.r.choice(T.HAND_GIVEN)
            f = self.r.choice(T.HAND_FAMILY)
            return {"given": g, "family": f, "full": f"{g} {f}"}, "hand:mixed"
        if x < 0.31:  # hand-written full names in their own script or order
            fam, giv, full = self.r.choice(T.HAND_SCRIPT)
            return {"given": giv, "family": fam, "full": full}, "hand:script"
        if x < 0.38:  # given names (or family names) that are ordinary English words
            if self.r.random() < 0.7:
                g = self.r.choice(T.WORD_GIVEN)
                f = self.r.choice(T.HAND_FAMILY + T.WORD_FAMILY)
            else:
                g = self.r.choice(T.HAND_GIVEN)
                f = self.r.choice(T.WORD_FAMILY)
            return {"given": g, "family": f, "full": f"{g} {f}"}, "hand:word"
        fk = self.fk[loc]
        g, f = fk.first_name(), fk.last_name()
        if loc in FAMILY_FIRST:
            full = f"{f}{g}" if loc in NO_SPACE and self.r.random() < 0.6 else f"{f} {g}"
        else:
            full = f"{g} {f}"
            if self.r.random() < 0.12:
                full = f"{g} {fk.first_name()} {f}" if self.r.random() < 0.5 else full
        return {"given": g, "family": f, "full": full}, "faker"

    # ------------------------------------------------------------------ dates
    def ymd(self, y0: int, y1: int) -> tuple[int, int, int]:
        return self.r.randint(y0, y1), self.r.randint(1, 12), self.r.randint(1, 28)

    def fmt_date(self, y: int, m: int, d: int) -> str:
        k = self.r.randrange(16)
        yy = f"{y % 100:02d}"
        return [
            f"{m}/{d}/{y}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}",
            f"{d}.{m}.{y}", f"{d:02d}.{m:02d}.{y}", f"{MONTHS[m - 1]} {d}, {y}",
            f"{d} {MONTHS[m - 1]} {y}", f"{d}-{MON3[m - 1]}-{y}",
            f"{d:02d}{MON3[m - 1].upper()}{y}", f"{MON3[m - 1]} {d} {y}", f"{m}/{d}/{yy}",
            f"{d:02d}-{m:02d}-{y}", f"{_abbr(m)} {d}, {y}", f"{y}/{m:02d}/{d:02d}",
            f"{d}{_th(d)} {MONTHS[m - 1]} {y}",
        ][k]  # fmt: skip

    def date(self) -> str:
        return self.fmt_date(*self.ymd(2018, 2026))

    def dob(self) -> str:
        return self.fmt_date(*self.ymd(1922, 2024))

    def dny(self) -> str:
        _y, m, d = self.ymd(2000, 2000)
        k = self.r.randrange(11)
        return [
            f"{m}/{d}", f"{d}/{m}", f"{MON3[m - 1]} {d}", f"{d} {MON3[m - 1]}",
            f"{MONTHS[m - 1]} {d}", f"{MONTHS[m - 1]} {d}{_th(d)}",
            f"the {d}{_th(d)} of {MONTHS[m - 1]}", f"{d:02d}-{MON3[m - 1]}", f"{d}.{m}.",
            f"{_abbr(m)} {d}", f"{m:02d}/{d:02d}",
        ][k]  # fmt: skip

    def month_year(self) -> str:
        y, m, _ = self.ymd(2015, 2026)
        return self.r.choice([f"{MONTHS[m - 1]} {y}", f"{MON3[m - 1]} {y}", f"{m:02d}/{y}"])

    # ------------------------------------------------------------------ ages
    def age(self, lo: int, hi: int) -> str:
        n = self.r.randint(lo, hi)
        k = self.r.randrange(10)
        if k == 9 and n < 100 and n >= 20:
            return _words(n) + self.r.choice(["-year-old", " years old", ""])
        return [f"{n} y/o", f"{n}yo", f"{n}-year-old", f"{n} year old", f"{n} yrs",
                f"{n}{self.r.choice('MF')}", f"{n} y.o.", f"{n}", f"{n} years", f"{n}y"][k]

    def age_child(self) -> str:
        n = self.r.randint(2, 20)
        u = self.r.choice(["month", "week", "day"])
        return self.r.choice([f"{n}-{u}-old", f"{n} {u}s old", f"{n}/12", f"{n} mo"]) \
            if u == "month" else self.r.choice([f"{n}-{u}-old", f"{n} {u}s old"])

    # ------------------------------------------------------------------ places
    def address(self, loc: str, block: bool) -> tuple[str, str]:
        aloc = LOCALES[loc][1]
        if self.r.random() < 0.2:
            a = self.hand_address()
            src = "hand"
        else:
            a = self.fk[aloc].address()
            src = f"faker:{aloc}"
        lines = [ln.strip() for ln in a.split("\n") if ln.strip()]
        if block:
            return "\n".join(lines), src
        return ", ".join(lines), src

    def hand_address(self) -> str:
        r = self.r
        st = r.choice(T.STREETS)
        city, state, zipc = r.choice(T.US_CITIES)
        k = r.randrange(8)
        num = str(r.randint(1, 9899))
        if k == 0:
            return f"{num} {st}, Apt {r.randint(1, 40)}{r.choice('ABCDEF')}\n{city}, {state} {zipc}"
        if k == 1:
            return f"PO Box {r.randint(10, 9999)}\n{city}, {state} {zipc}-{self.d(4)}"
        if k == 2:
            return f"{num} {st} Unit {r.randint(1, 300)}, {city} {state} {zipc}"
        if k == 3:
            return f"RR {r.randint(1, 9)} Box {r.randint(10, 400)}, {city}, {state} {zipc}"
        if k == 4:
            return f"Flat {r.randint(1, 60)}, {num} {r.choice(T.UK_STREETS)}\n" + \
                r.choice(T.UK_TOWNS) + " " + self.pat(r.choice(["AN# #AA", "AA## #AA", "AN #AA"]))
        if k == 5:
            return f"{num} {st} #{r.randint(100, 999)}\n{city} {state} {zipc}"
        if k == 6:
            return f"{num}-{r.randint(1, 40)} {st}, {city}, {state}, {zipc}"
        return f"{num} {st}, Suite {r.randint(100, 2400)}, {city}, {state} {zipc}"

    def city(self, loc: str) -> str:
        if self.r.random() < 0.25:
            return self.r.choice(T.US_CITIES)[0]
        return self.fk[LOCALES[loc][1]].city()

    def zipcode(self, loc: str) -> str:
        if self.r.random() < 0.4:
            return self.r.choice(T.US_CITIES)[2]
        return self.fk[LOCALES[loc][1]].postcode()

    # ------------------------------------------------------------------ contact
    def phone(self, loc: str) -> tuple[str, str]:
        if loc in FAKER_PHONE_OK and self.r.random() < 0.35:
            return self.fk[loc].phone_number(), "faker"
        ctry = LOCALES[loc][2] if self.r.random() < 0.8 else self.r.choice(sorted(T.PHONE_FORMATS))
        return self.pat(self.r.choice(T.PHONE_FORMATS[ctry])), f"hand:{ctry}"

    def email(self, loc: str, person: dict | None) -> str:
        r = self.r
        if person is not None and r.random() < 0.5 and person["family"].isascii():
            g = _ascii(person["given"]).lower()
            f = _ascii(person["family"]).lower().replace(" ", "").replace("'", "")
            user = r.choice([f"{g}.{f}", f"{g[:1]}{f}", f"{f}{r.randint(1, 99)}", f"{g}_{f}"])
            if user.strip("._0123456789"):
                return f"{user}@{r.choice(T.MAIL_DOMAINS)}"
        return self.fk[loc].email() if r.random() < 0.6 else self.fk["en_US"].email()

    def url(self, loc: str, person: dict | None) -> str:
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return self.fk[loc].url() if loc in self.fk else self.fk["en_US"].url()
        if k == 1:
            return f"https://portal.{r.choice(T.ORG_DOMAINS)}/chart/{self.pat('########')}"
        if k == 2 and person is not None and person["family"].isascii():
            g = _ascii(person["given"]).lower()
            f = _ascii(person["family"]).lower().replace(" ", "").replace("'", "")
            return f"www.facebook.com/{g}.{f}.{r.randint(1, 999)}"
        if k == 3:
            return f"https://{r.choice(T.ORG_DOMAINS)}/share/{self.pat('hhhhhhhhhhhh')}"
        if k == 4:
            return f"http://{self.fk['en_US'].domain_name()}/~{self.pat('aaaaaa')}"
        return f"https://meet.{r.choice(T.ORG_DOMAINS)}/j/{self.pat('##########')}?pwd={self.pat('aXaXaXaX')}"

    def ip(self) -> str:
        r = self.r
        k = r.randrange(5)
        if k == 0:
            return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if k == 1:
            return f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if k == 2:
            return self.fk["en_US"].ipv6()
        if k == 3:
            return f"2001:db8:{self.pat('hhhh')}::{self.pat('hh')}"
        return self.fk["en_US"].ipv4_public()

    # ------------------------------------------------------------------ identifiers
    def ssn(self) -> str:
        r = self.r
        a = r.choice([x for x in range(1, 900) if x != 666])
        g, s = r.randint(1, 99), r.randint(1, 9999)
        sep = r.choice(["-", "-", "-", " ", ""])
        return f"{a:03d}{sep}{g:02d}{sep}{s:04d}"

    def mrn(self) -> str:
        r = self.r
        k = r.randrange(9)
        if k == 7:  # NHS number with a valid mod-11 check digit
            while True:
                ds = [r.randint(0, 9) for _ in range(9)]
                c = 11 - sum(d * w for d, w in zip(ds, range(10, 1, -1), strict=True)) % 11
                c = 0 if c == 11 else c
                if c != 10:
                    s = "".join(map(str, ds)) + str(c)
                    return f"{s[:3]} {s[3:6]} {s[6:]}" if r.random() < 0.7 else s
        return self.pat(["#######", "00######", "E#######", "##-###-###", "000####",
                         "M########", r"H\N####/##", "", "##########-#"][k] or "########")

    def mbi(self) -> str:
        r = self.r
        L = MBI_LETTERS
        AN = L + string.digits
        c = [r.choice("123456789"), r.choice(L), r.choice(AN), r.choice(string.digits),
             r.choice(L), r.choice(AN), r.choice(string.digits), r.choice(L), r.choice(L),
             r.choice(string.digits), r.choice(string.digits)]  # fmt: skip
        s = "".join(c)
        return f"{s[:4]}-{s[4:7]}-{s[7:]}" if r.random() < 0.4 else s

    def health_plan(self) -> tuple[str, str]:
        r = self.r
        if r.random() < 0.4:
            return self.mbi(), "mbi"
        return self.pat(r.choice(["AAA#########", "W#########", "#########-01", "AA#####A",
                                  "XAA##########", "ZGP#######", "###-##-####-A",
                                  "A########"])), "member"

    def account(self, loc: str) -> tuple[str, str]:
        r = self.r
        k = r.randrange(5)
        if k == 0:
            ib = self.fk[loc].iban() if loc in self.fk else self.fk["de_DE"].iban()
            if r.random() < 0.5:
                ib = " ".join(ib[i:i + 4] for i in range(0, len(ib), 4))
            return ib, "iban"
        return self.pat(["##########", "000########", "####-######-##", "HA########"][k - 1]), \
            "hand"

    def card(self) -> str:
        r = self.r
        pre = r.choice(["4", "51", "53", "55", "2221", "6011", "37", "34"])
        n = 15 if pre in ("34", "37") else 16
        body = pre + self.d(n - len(pre) - 1)
        s = body + str(_luhn(body))
        k = r.randrange(3)
        if k == 0 or n == 15:
            return s if k != 1 else f"{s[:4]} {s[4:10]} {s[10:]}"
        sep = " " if k == 1 else "-"
        return sep.join(s[i:i + 4] for i in range(0, 16, 4))

    def licence(self) -> tuple[str, str]:
        """A professional licence or registration number."""
        r = self.r
        if r.random() < 0.25:
            return self.dea(), "dea"
        return self.pat(r.choice(["MD######", r"R\N######", "G#####", "A ######", "####-####",
                                  "LP#####", "##-#####-##", "A#####"])), "hand"

    def dea(self) -> str:
        """A DEA registration number with its check digit."""
        r = self.r
        ds = [r.randint(0, 9) for _ in range(7)]
        ds[6] = (ds[0] + ds[2] + ds[4] + 2 * (ds[1] + ds[3] + ds[5])) % 10
        return r.choice("ABFM") + r.choice(string.ascii_uppercase) + "".join(map(str, ds))

    def certificate(self) -> str:
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return f"URN:UVCI:01:{r.choice(['DE', 'FR', 'IT', 'NL', 'AT'])}:" + \
                self.pat("XXXXXXXXXXXXXXXXXXXXXX") + "#" + r.choice(string.ascii_uppercase)
        return self.pat(["###-####-######", "2###-DC-######", "BC-####-#####", "###########",
                         "CERT ########"][k - 1])

    def plate(self, loc: str) -> str:
        r = self.r
        c = LOCALES[loc][2]
        pats = T.PLATES.get(c) if r.random() < 0.7 else None
        if not pats:
            pats = T.PLATES[r.choice(sorted(T.PLATES))]
        return self.pat(r.choice(pats))

    def vin(self) -> str:
        r = self.r
        while True:
            v = [r.choice(VIN_CHARS) for _ in range(17)]
            v[0] = r.choice("123459JKLSWYZ")
            v[9] = r.choice(VIN_YEAR)
            s = sum(VIN_VAL[ch] * w for ch, w in zip(v, VIN_W, strict=True)) % 11
            v[8] = "X" if s == 10 else str(s)
            out = "".join(v)
            if "I" not in out and "O" not in out and "Q" not in out:
                return out

    def serial(self) -> str:
        return self.pat(self.r.choice([r"PJ\N######", r"R\NW######S", "##########", "A#A-###-####",
                                       "MX######-##", "SER-#####-AA", "XX#X#####", "#AA####A##",
                                       "CV######H"]))  # fmt: skip

    def udi(self) -> str:
        r = self.r
        body = "0" + self.d(12)
        gtin = body + str(_gs1_check(body))
        y, m, d = self.ymd(2025, 2031)
        exp = f"{y % 100:02d}{m:02d}{d:02d}"
        lot, sn = self.pat("XXXXXX"), self.pat("########")
        k = r.randrange(4)
        if k == 0:
            return f"(01){gtin}(17){exp}(10){lot}(21){sn}"
        if k == 1:
            return f"01{gtin}17{exp}10{lot}"
        if k == 2:
            return f"(01){gtin}(21){sn}"
        return "+" + self.pat("A###XXXXXX#/$$#######X")

    def biometric(self) -> str:
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return self.pat("FP-hhhhhhhhhh")
        if k == 1:
            return self.pat("IRT-#########")
        if k == 2:
            return self.pat("VPR-####-XXXX")
        if k == 3:
            return "bio:" + self.pat("hhhhhhhh-hhhh-4hhh-hhhh-hhhhhhhhhhhh")
        if k == 4:
            return self.pat("PV########")
        return self.pat(r"F\AC\E-E\NR-hhhhhh")

    def unique(self) -> tuple[str, str]:
        r = self.r
        k = r.randrange(5)
        return [
            (self.pat(r.choice(["A########", "AA#######", "X##X##A##"])), "passport"),
            (self.pat("S##-#####"), "accession"),
            (self.pat(r"\ACC-20##-######"), "accession"),
            (self.pat("EMP-######"), "badge"),
            (self.pat("CLM-##########"), "claim"),
        ][k]

    # ------------------------------------------------------------------ keep values
    def clinical(self, kind: str) -> str:
        r = self.r
        if kind == "bp":
            s, d = r.randint(84, 212), r.randint(44, 124)
            return r.choice([f"BP {s}/{d}", f"B/P {s}/{d}", f"BP: {s}/{d} mmHg",
                             f"blood pressure {s}/{d}", f"BP {s}/{d} mm Hg", f"bp {s}/{d}"])
        if kind == "lab":
            name, lo, hi, dec, unit = r.choice(T.LABS)
            v = r.uniform(lo, hi)
            val = f"{v:.{dec}f}"
            return r.choice([f"{name} {val}{unit}", f"{name} {val}{unit}", f"{name}: {val}{unit}",
                             f"{name} {val}"])
        if kind == "vital":
            return r.choice([f"HR {r.randint(40, 160)}", f"SpO2 {r.randint(82, 100)}%",
                             f"T {r.randint(355, 405) / 10:.1f} C", f"RR {r.randint(10, 36)}",
                             f"temp {r.randint(960, 1042) / 10:.1f}F",
                             f"pulse {r.randint(44, 150)}",
                             f"sats {r.randint(85, 99)}% on RA", f"O2 sat {r.randint(86, 99)}%"])
        # fractions that look like dates
        return r.choice([f"{r.randint(0, 5)}/5 strength", f"power {r.randint(2, 5)}/5",
                         f"GCS {r.randint(8, 15)}/15", f"pain {r.randint(1, 10)}/10",
                         f"VA 20/{r.choice([20, 25, 30, 40, 50, 70, 100, 200])}",
                         f"visual acuity 6/{r.choice([6, 9, 12, 18, 24, 36, 60])}",
                         f"Apgar {r.randint(5, 9)}/{r.randint(7, 10)}",
                         f"{r.randint(1, 4)}/6 systolic murmur",
                         f"reflexes {r.randint(1, 3)}/4", f"{r.randint(1, 3)}/4 pitting edema"])


def _abbr(m: int) -> str:
    return "May" if m == 5 else MON3[m - 1] + "."


def _th(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    t, o = divmod(n, 10)
    return _TENS[t] + (f"-{_ONES[o]}" if o else "")


def _ascii(s: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and c.isalnum())


def _luhn(body: str) -> int:
    tot = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        tot += d
    return (10 - tot % 10) % 10


def _gs1_check(body: str) -> int:
    tot = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - tot % 10) % 10


# ---------------------------------------------------------------------------- rendering

SLOT = re.compile(r"\{([a-z_0-9]+)(?::([lu]))?\}")


class Record:
    def __init__(self, gen: Gen, loc: str) -> None:
        self.g, self.loc = gen, loc
        self.text = ""
        self.spans: list[list] = []
        self.src: list[str] = []
        self.keep: list[list] = []
        self.memo: dict[str, tuple[dict, str]] = {}
        self.values: list[tuple[int, int, str]] = []  # every span with the value put there

    def person(self, role: str) -> tuple[dict, str]:
        if role not in self.memo:
            self.memo[role] = self.g.name(self.loc)
        return self.memo[role]

    def value(self, slot: str) -> tuple[str, str | None, str]:
        """(text, label or KEEP:kind or None, source tag) for one slot."""
        g, loc, r = self.g, self.loc, self.g.r
        if slot in PERSON_SLOTS:
            return self.person_value(slot)
        if slot == "date":
            return g.date(), "DATE", "full"
        if slot == "dob":
            return g.dob(), "DATE", "full"
        if slot == "dny":
            return g.dny(), "DATE", "no-year"
        if slot == "my":
            return g.month_year(), "DATE", "month-year"
        if slot == "age":
            return g.age(18, 89), "AGE", "le89"
        if slot == "age_old":
            return g.age(90, 109), "AGE", "gt89"
        if slot == "age_any":
            return (g.age(90, 106), "AGE", "gt89") if r.random() < 0.4 else \
                (g.age(1, 89), "AGE", "le89")
        if slot == "age_child":
            return g.age_child(), "AGE", "child"
        if slot in ("addr", "addrb"):
            v, src = g.address(loc, block=slot == "addrb")
            return v, "ADDRESS", src
        if slot == "city":
            return g.city(loc), "LOCATION", "city"
        if slot == "county":
            return r.choice(T.COUNTIES), "LOCATION", "county"
        if slot == "zip":
            return g.zipcode(loc), "ZIP", "postcode"
        if slot == "phone":
            v, src = g.phone(loc)
            return v, "PHONE", src
        if slot == "fax":
            v, src = g.phone(loc)
            return v, "FAX", src
        if slot == "email":
            return g.email(loc, self.person("pt")[0] if r.random() < 0.5 else None), "EMAIL", ""
        if slot == "demail":
            return g.email(loc, self.person("doc")[0]), "EMAIL", "clinician"
        if slot == "url":
            return g.url(loc, self.person("pt")[0]), "URL", ""
        if slot == "ip":
            return g.ip(), "IP", ""
        if slot == "ssn":
            return g.ssn(), "US_SSN", ""
        if slot == "mrn":
            return g.mrn(), "MRN", ""
        if slot == "mbi":
            return g.mbi(), "HEALTH_PLAN_ID", "mbi"
        if slot == "hpid":
            v, src = g.health_plan()
            return v, "HEALTH_PLAN_ID", src
        if slot == "acct":
            v, src = g.account(loc)
            return v, "ACCOUNT_NUMBER", src
        if slot == "cc":
            return g.card(), "CREDIT_CARD", ""
        if slot == "lic":
            v, src = g.licence()
            return v, "CERTIFICATE_NUMBER", src
        if slot == "cert":
            return g.certificate(), "CERTIFICATE_NUMBER", "certificate"
        if slot == "plate":
            return g.plate(loc), "VEHICLE_ID", "plate"
        if slot == "vin":
            return g.vin(), "VEHICLE_ID", "vin"
        if slot == "serial":
            return g.serial(), "DEVICE_ID", "serial"
        if slot == "udi":
            return g.udi(), "DEVICE_ID", "udi"
        if slot == "bio":
            return g.biometric(), "BIOMETRIC_ID", ""
        if slot == "uid":
            v, src = g.unique()
            return v, "UNIQUE_ID", src
        if slot == "dea":
            return g.dea(), "CERTIFICATE_NUMBER", "dea"
        if slot in T.PATTERN_SLOTS:
            label, pats = T.PATTERN_SLOTS[slot]
            return g.pat(r.choice(pats)), label, slot
        # values that must survive
        if slot == "epo":
            return r.choice(T.EPONYMS), "KEEP:MEDICAL_TERM", ""
        if slot == "drug":
            return r.choice(T.DRUGS), "KEEP:MEDICAL_TERM", ""
        if slot == "drug2":
            return r.choice(T.DRUGS), "KEEP:MEDICAL_TERM", ""
        if slot == "nlike":
            return r.choice(T.NAME_LIKE_TERMS), "KEEP:MEDICAL_TERM", ""
        if slot == "nother":
            return r.choice(T.NAME_LIKE_OTHER), "KEEP:MEDICAL_TERM", ""
        if slot == "frank":
            return r.choice(["Frank hematuria", "frank haematuria", "Frank blood",
                             "frank hematuria"]), "KEEP:MEDICAL_TERM", ""
        if slot == "geo":
            return r.choice(T.PLACE_LIKE_TERMS), "KEEP:MEDICAL_TERM", ""
        if slot in ("bp", "lab", "lab2", "vital", "frac"):
            return g.clinical(slot.rstrip("2")), "KEEP:CLINICAL_VALUE", ""
        # plain (unlabelled) fillers
        if slot == "time":
            return f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}", None, ""
        if slot == "bed":
            return str(r.randint(1, 48)), None, ""
        if slot == "n":
            return str(r.randint(2, 14)), None, ""
        raise KeyError(slot)

    def person_value(self, slot: str) -> tuple[str, str, str]:
        r = self.g.r
        base = {"pt": "pt", "pt_first": "pt", "pt_last": "pt", "pt_ini": "pt", "rel": "rel",
                "rel_first": "rel", "doc": "doc", "doc_last": "doc", "doc2": "doc2",
                "doc2_last": "doc2", "nurse": "nurse"}.get(slot)  # fmt: skip
        if base is None:  # fresh names
            if slot in ("wname", "wfirst", "wlast"):
                g = r.choice(T.WORD_GIVEN)
                f = r.choice(T.HAND_FAMILY + T.WORD_FAMILY)
                if slot == "wlast":
                    return r.choice(T.WORD_FAMILY), "PERSON", "hand:word"
                return (f"{g} {f}" if slot == "wname" else g), "PERSON", "hand:word"
            p, src = self.g.name(self.loc)
            return (p["full"] if slot == "name" else p["given"]), "PERSON", src
        p, src = self.person(base)
        if slot in ("pt_first", "rel_first"):
            return p["given"], "PERSON", src
        if slot in ("pt_last", "doc_last", "doc2_last"):
            return p["family"], "PERSON", src
        if slot == "pt_ini":
            g = p["given"]
            if not g[:1].isalpha() or not g.isascii():
                return p["full"], "PERSON", src
            return f"{g[0]}. {p['family']}", "PERSON", src
        if slot == "nurse" and r.random() < 0.5:
            return p["given"], "PERSON", src
        return p["full"], "PERSON", src

    def render(self, tmpl: str, case: str = "") -> None:
        pos = 0
        for m in SLOT.finditer(tmpl):
            self.text += tmpl[pos:m.start()]
            pos = m.end()
            slot, mod = m.group(1), m.group(2) or case
            val, label, src = self.value(slot)
            if mod == "l":
                val = val.lower()
            elif mod == "u":
                val = val.upper()
            start = len(self.text)
            self.text += val
            if label is None:
                continue
            self.values.append((start, len(self.text), val))
            if label.startswith("KEEP:"):
                self.keep.append([start, len(self.text), label[5:]])
            else:
                self.spans.append([start, len(self.text), label])
                self.src.append(f"{src}:{mod}" if mod else src)
        self.text += tmpl[pos:]


def check(rec: dict, values: list[tuple[int, int, str]]) -> None:
    """Raise if any span is malformed, differs from the value put there, or two spans overlap."""
    text = rec["text"]
    spans = {(s, e) for s, e, _l in rec["spans"]} | {(s, e) for s, e, _k in rec["keep"]}
    if spans != {(s, e) for s, e, _v in values} or len(spans) != len(values):
        raise ValueError(f"{rec['id']}: spans differ from the values written")
    for s, e, v in values:
        if text[s:e] != v:
            raise ValueError(f"{rec['id']}: text[{s}:{e}] is not {v!r}")
    allsp = [(s, e, lab) for s, e, lab in rec["spans"]] + [(s, e, k) for s, e, k in rec["keep"]]
    for s, e, lab in allsp:
        if not (0 <= s < e <= len(text)):
            raise ValueError(f"{rec['id']}: span {s}..{e} outside text")
        v = text[s:e]
        if v != v.strip():
            raise ValueError(f"{rec['id']}: span {v!r} ({lab}) has edge whitespace")
        if lab in ("MEDICAL_TERM", "CLINICAL_VALUE"):
            continue
        if lab not in T.LABELS:
            raise ValueError(f"{rec['id']}: unknown label {lab}")
    srt = sorted(allsp)
    for (s0, e0, _a), (s1, e1, _b) in zip(srt, srt[1:], strict=False):
        if s1 < e0:
            raise ValueError(f"{rec['id']}: spans overlap: {text[s0:e0]!r} {text[s1:e1]!r}")
    # a span must not start or end inside a word (values are whole tokens)
    for s, e, _lab in allsp:
        if s > 0 and text[s - 1].isalnum() and text[s].isalnum() and text[s - 1].isascii():
            raise ValueError(f"{rec['id']}: span {text[s:e]!r} starts inside a word")
        if e < len(text) and text[e].isalnum() and text[e - 1].isalnum() and text[e].isascii():
            raise ValueError(f"{rec['id']}: span {text[s:e]!r} ends inside a word")


def generate(seed: int = SEED, n: int = N_RECORDS) -> list[dict]:
    gen = Gen(seed)
    r = gen.r
    locs = sorted(LOCALES)
    weights = [LOCALES[x][0] for x in locs]
    general = [t for t in T.TEMPLATES if not t[2]]
    order: list[tuple] = []
    recs = []
    for i in range(n):
        loc = r.choices(locs, weights)[0]
        local = [t for t in T.TEMPLATES if t[2] and loc in t[2]]
        if local and r.random() < 0.35:
            tmpl = r.choice(local)
        else:
            if not order:
                order = list(general)
                r.shuffle(order)
            tmpl = order.pop()
        rec = Record(gen, loc)
        tid, flags, _locs, body = tmpl
        rec.render(body, "l" if "l" in flags else "u" if "u" in flags else "")
        used = [tid]
        if r.random() < 0.28:
            sid, sflags, _sl, sbody = r.choice(T.SNIPPETS)
            rec.text += r.choice(["\n\n", "\n", " ", "\n\n---\n"])
            rec.render(sbody, "l" if "l" in sflags else "")
            used.append(sid)
        out = {"id": f"v{i:04d}", "text": rec.text, "spans": rec.spans, "keep": rec.keep,
               "span_src": rec.src, "locale": loc, "templates": used}  # fmt: skip
        check(out, rec.values)
        recs.append(out)
    return recs


def dump(recs: list[dict]) -> bytes:
    return "".join(json.dumps(x, ensure_ascii=False, sort_keys=True) + "\n"
                   for x in recs).encode("utf-8")  # fmt: skip


def stats(recs: list[dict]) -> None:
    lab = Counter(s[2] for x in recs for s in x["spans"])
    keep = Counter(k[2] for x in recs for k in x["keep"])
    src = Counter(s.split(":")[0] + (":" + s.split(":")[1] if s.startswith("hand") else "")
                  for x in recs for s, sp in zip(x["span_src"], x["spans"], strict=True)
                  if sp[2] == "PERSON")  # fmt: skip
    tm = Counter(t for x in recs for t in x["templates"])
    locs = Counter(x["locale"] for x in recs)
    ages = Counter(s for x in recs for s, sp in zip(x["span_src"], x["spans"], strict=True)
                   if sp[2] == "AGE")  # fmt: skip
    print(f"records {len(recs)}; two snippets {sum(len(x['templates']) > 1 for x in recs)}")
    print(f"templates defined {len(T.TEMPLATES)} + snippets {len(T.SNIPPETS)}; used {len(tm)}; "
          f"min uses {min(tm.values())}")
    print(f"locales {len(locs)}: " + ", ".join(f"{k} {v}" for k, v in sorted(locs.items())))
    print("labels: " + ", ".join(f"{k} {v}" for k, v in lab.most_common()))
    print(f"total gold {sum(lab.values())}; keep: {dict(keep)}")
    print(f"PERSON sources: {dict(src)}")
    print(f"AGE kinds: {dict(ages)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate and compare bytes")
    ap.add_argument("--stats", action="store_true", help="print counts of the written file")
    args = ap.parse_args(argv)
    if args.stats:
        stats([json.loads(ln) for ln in OUT.read_text(encoding="utf-8").splitlines()])
        return 0
    data = dump(generate())
    if args.check:
        old = OUT.read_bytes()
        if old != data:
            print(f"MISMATCH: {OUT.name} differs from a fresh generation", file=sys.stderr)
            return 1
        print(f"ok: {OUT.name} reproduced byte for byte, sha256 {hashlib.sha256(data).hexdigest()}")
        return 0
    tmp = OUT.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, OUT)
    print(f"wrote {OUT.name}: sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
