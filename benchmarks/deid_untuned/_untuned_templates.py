# ruff: noqa: E501
"""Sentence templates and hand-written hard cases for the untuned de-identification set.

Slot syntax (filled by make_untuned.py):
  {kind} or {kindN}   a generated value; the same slot name in one record is the same value,
                      and name/first/last/init/lname/email with the same N refer to one person.
  [[LABEL|text]]      literal text with a gold label (identifier) or a keep kind
                      (MEDICAL_TERM, CLINICAL_VALUE, COMMON_WORD).
Identifier kinds: name first last lname init addr addrline street city zip phone phonei phonen
email date dateny old ssn ssnbare nino natid mrn mbi plan acct cc lic cert plate vin serial udi
url ip bio. Keep kinds: med epo sign drug bp lab vital dose. Plain (unlabelled) kinds: age.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    tid: str
    text: str
    langs: tuple[str, ...] = ()  # locale prefixes this template is written for ("de", "fr")
    informal: bool = False  # messages: names are often typed in lower case
    short: bool = False  # a one-line snippet that may be appended to another record

    def fits(self, loc: str) -> bool:
        return not self.langs or loc.split("_")[0] in self.langs

    def pick_locale(self, rng: random.Random, locales: list[str], weights: list[int]) -> str:
        if not self.langs:
            return rng.choices(locales, weights)[0]
        cands = [loc for loc in locales if self.fits(loc)]
        return rng.choice(cands)


_T: list[tuple[str, str, dict]] = [
    # --- emergency / admission -------------------------------------------------------------
    ("ed_triage",
     "ED triage: {name} ({age}) walked in at 02:10 with chest tightness radiating to the left arm. "
     "{bp}, {vital}. History of {med}; takes {drug} {dose}. MRN {mrn}.", {}),
    ("ed_elderly",
     "{old} woman brought from her home at {addrline} by ambulance after a fall. "
     "Known {epo}. Daughter {first2} {last} can be reached on {phone}.", {}),
    ("admit_summary",
     "ADMISSION NOTE\nPatient: {name}\nDOB: {date}\nMRN: {mrn}\nAddress: {addr}\n"
     "Reason: {med} with {lab} and {vital}.", {}),
    ("admit_short",
     "Admitted {dateny} for {med}; discharged {dateny2}.", {"short": True}),
    ("transfer",
     "Transferred from the community hospital in {city} on {date}. "
     "Receiving physician Dr. {name2}, pager {phonen}. {lab}, {lab}.", {}),
    ("ambulance",
     "EMS run sheet: unit plate {plate}, crew {first2} and {first3}. Patient {name}, "
     "picked up at {street}, {city} {zip}. {bp}, {vital}.", {}),
    # --- progress / nursing -----------------------------------------------------------------
    ("progress",
     "Progress note {dateny}: Mr. {last} is a {age} with {med}. Overnight {vital}; "
     "{bp}. Continue {drug} and recheck {lab} in the morning.", {}),
    ("nursing_handover",
     "Handover to night shift: bed 12 - {name}, {old}, {epo}, on {drug} {dose}. "
     "Son {name2} visiting; his number {phone}.", {}),
    ("nursing_lower",
     "pt {lname} refused {drug} again this am, says it upsets her stomach. {vital}.",
     {"informal": True}),
    ("wound",
     "Wound check for {init}: {lab}. Dressing changed. Next visit {dateny} at home ({addrline}).",
     {}),
    ("falls",
     "Incident: {name} ({old}) found on floor beside bed at 04:30. No head strike. {bp}. "
     "Family informed via {email}.", {}),
    # --- discharge / letters -----------------------------------------------------------------
    ("discharge_letter",
     "Dear Dr. {last2},\n\nThank you for seeing {name}, born {date}, whom we treated for {med}. "
     "On discharge {lab} and {bp}. Please continue {drug} {dose}.\n\n"
     "Yours sincerely,\n{name3}\nConsultant Physician", {}),
    ("referral_block",
     "{name}\n{addr}\n\nRe: referral for suspected {epo}\n\n"
     "{first} was seen on {date}. {vital}. We would be grateful for your opinion.", {}),
    ("gp_letter",
     "To: {name2}, General Practitioner, {addrline}\nRe: {name}, DOB {date}, NHS no. {mrn}\n"
     "Diagnosis: {med}. {lab}. Medication: {drug}.", {}),
    ("signature_plain",
     "Please call if questions.\n\n{name4}\n{phone4}\n{email4}", {"short": True}),
    ("signature_rn",
     "Reviewed and signed: {name4}, RN, licence {lic}, {date4}.", {"short": True}),
    ("sig_dash",
     "-- {first4} {last4}\nClinic coordinator | tel {phonei4} | {url}", {"short": True}),
    ("cc_line",
     "cc: {name2}; {name3}; patient file {mrn}", {"short": True}),
    # --- outpatient ---------------------------------------------------------------------------
    ("clinic_rheum",
     "Rheumatology clinic. {name} reports worsening {epo} in cold weather. "
     "{lab}; {lab}. Started {drug}. Review in 6 weeks.", {}),
    ("clinic_diab",
     "Diabetes review for {name}, {age}. {lab}, {bp}, {vital}. Increase {drug} to {dose}. "
     "Lives alone at {addrline}.", {}),
    ("clinic_peds",
     "Paediatrics: {first}, {age}, febrile for 5 days; rule out {epo}. Mother {name2} "
     "({phone}) consents to echo. {vital}.", {}),
    ("clinic_neuro",
     "Neurology: {name} ({old}) with long-standing {epo}. {sign} negative. Tremor improved on {drug}. "
     "Carer contact {phonen}.", {}),
    ("clinic_cardio",
     "Cardiology follow-up {dateny}. {name}: {med}, on {drug}; {lab}, {bp}. "
     "Pacemaker serial {serial} checked, battery OK.", {}),
    ("clinic_lower",
     "saw {lname} today w/ her husband, {med} stable, {bp}. f/u {dateny}.",
     {"informal": True}),
    ("obgyn",
     "Antenatal visit: {name}, {vital}, {bp}. EDD {date}. Partner {name2}, {phonei}. {sign} booked.", {}),
    ("psych",
     "Psychiatry: {first} {last} says her neighbour at {street} is watching her. "
     "Continues {drug}. Sister {first2} ({email}) involved.", {}),
    ("dental",
     "Dental chart for {name} ({date}): extraction 36, {drug} prescribed. Insurance member ID {plan}.",
     {}),
    ("eye",
     "Ophthalmology: {name}, {vital}. Lens implant UDI {udi}.", {}),
    # --- results -----------------------------------------------------------------------------
    ("lab_report",
     "LAB REPORT  Patient: {name}  MRN: {mrn}  Collected: {date}\n{lab}\n{lab}\n{lab}\n"
     "Comment: consistent with {med}.", {}),
    ("radiology",
     "CT chest ({date}) for {name}, {age}: no evidence of {med}. "
     "Compared with prior study from {dateny}. Reported by Dr. {init2}.", {}),
    ("pathology",
     "Pathology {cert}: specimen from {name} received {dateny}. Findings suggest {epo}.", {}),
    ("micro",
     "Micro: {epo} serology positive for {first} {last} (MRN {mrn}). Phoned to ward, {dateny}.",
     {}),
    # --- death / birth / certificates ---------------------------------------------------------
    ("death",
     "{name} died {dateny} at 03:15, aged {old}, of {med}. Death certificate no. {cert}. "
     "Next of kin {name2}, {addrline}.", {}),
    ("death_short",
     "Died {dateny}. Pronounced by Dr. {last2}.", {"short": True}),
    ("birth",
     "Newborn: baby girl of {name}, born {date}, {vital}. Birth certificate {cert}. "
     "Father {name2}, {phone}.", {}),
    ("dob_short",
     "DOB {dateny}, {old}.", {"short": True}),
    # --- administrative ----------------------------------------------------------------------
    ("insurance",
     "Medicare beneficiary {name}, MBI {mbi}, SSN {ssn}. Secondary plan member {plan}.", {}),
    ("insurance2",
     "Claim for {name} (plan ID {mbi}) denied; date of service {date}. Call {phone}.", {}),
    ("billing",
     "Billing: invoice for {name} sent to {addr}. Account {acct}. Card on file {cc}.", {}),
    ("billing_iban",
     "Please refund the overpayment to account {acct} held by {name}.", {"short": True}),
    ("ssn_bare",
     "Registration: {name}, social {ssnbare}, {date}, {email}.", {}),
    ("ssn_note",
     "Patient's SSN is {ssn}; verify against ID before release of records.", {"short": True}),
    ("nino",
     "UK patient {name}, National Insurance number {nino}, GP surgery at {addrline}.", {}),
    ("natid",
     "Foreign national {name}, national ID {natid}, passport copy on file. Contact {phone}.", {}),
    ("consent",
     "Consent form signed by {name} on {date}; witness {name2}. Copy mailed to {addrline}.", {}),
    ("release",
     "Release of information to {name2} (driver licence {lic}) authorised by {name} on {date}.",
     {}),
    ("social_work",
     "Social work: {first} is homeless since {dateny}; previously lived at {addrline}. "
     "Ex-partner {name2} drives a car with plate {plate}.", {}),
    ("police",
     "Police report attached: vehicle VIN {vin}, plate {plate}, registered to {name} of {city}.",
     {}),
    ("mva",
     "MVA on {dateny}: {name}, driver, {age}. Car {plate}. {vital}, {bp}.", {}),
    # --- devices / biometrics / digital ------------------------------------------------------
    ("device_implant",
     "Implant record: {name}, {date}. Device serial {serial}, UDI {udi}. {epo} excluded.", {}),
    ("device_pump",
     "Insulin pump SN {serial} replaced for {first} {last}; {lab}.", {}),
    ("biometric",
     "Access log: fingerprint template {bio} enrolled for {name} on {date}.", {}),
    ("biometric2",
     "Voiceprint ID {bio} matched caller {name} ({phone}) to the patient portal.", {}),
    ("portal",
     "Portal message from {name} via {url} (IP {ip}) at 21:14: asks whether {drug} interacts with "
     "{drug}.", {}),
    ("telehealth",
     "Telehealth session {dateny}: {name} joined from {ip}; link {url}. {med} reviewed.", {}),
    ("it_audit",
     "Audit: user {email} opened chart {mrn} from {ip} on {date}.", {"short": True}),
    # --- messages / informal ------------------------------------------------------------------
    ("sms",
     "hi its {lname}, can u move my appt to {dateny}? my number changed to {phonen}",
     {"informal": True}),
    ("sms2",
     "{first} here - mum had a bad night, {vital}, gave her the {drug}. call me {phone}",
     {"informal": True}),
    ("email_msg",
     "From: {email}\nTo: clinic\nSubject: results\n\nHi, this is {name}. Could you send my "
     "{lab} result to {addrline}? Thanks, {first}", {"informal": True}),
    ("voicemail",
     "VM from {first2} {last2} ({phone}) re: her father {name}, {old}, confused since {dateny}.",
     {}),
    ("chat_lower",
     "spoke to {lname} on the phone, she lives at {addrline} now. zip {zip}.",
     {"informal": True}),
    # --- geography ---------------------------------------------------------------------------
    ("zip_note",
     "Lives in ZIP {zip}; travelled to {city} last month. Tick bite, query {epo}.", {}),
    ("postcode_note",
     "Postcode {zip}. Home visit requested for {name}.", {"short": True}),
    ("address_only",
     "Home address:\n{addr}", {"short": True}),
    ("address_name_block",
     "{name}\n{addr}\n{phone}", {}),
    # --- controls and common-word names -------------------------------------------------------
    ("control_med",
     "{epo} and {med} are in the differential; {sign} noted. Consider {drug}; {lab}, {bp}.", {"short": True}),
    ("control_words",
     "[[COMMON_WORD|Frank]] hematuria noted; we [[COMMON_WORD|hope]] it settles. Temperature "
     "[[COMMON_WORD|rose]] to {vital}. Patient {name} [[COMMON_WORD|will]] return {dateny}.",
     {}),
    ("control_grace",
     "Seen with her daughter {name}. Patient is in [[COMMON_WORD|good]] spirits; "
     "[[COMMON_WORD|faith]] community visits weekly. {bp}.", {}),
    ("control_bill",
     "The [[COMMON_WORD|bill]] for {name}'s stay was sent; [[COMMON_WORD|mark]] the file paid. "
     "Contact {email}.", {}),
    ("card_payment",
     "Copay paid by card {cc} at the front desk.", {"short": True}),
    ("nino_short",
     "NI number {nino} verified against photo ID.", {"short": True}),
    ("natid_short",
     "ID card {natid} scanned at registration.", {"short": True}),
    ("bio_short",
     "Iris code {bio} enrolled at the pharmacy kiosk.", {"short": True}),
    ("exam_signs",
     "Exam: {sign} and {sign} negative, {vital}. Impression: {med}. Seen by {init3}.",
     {"short": True}),
    ("values_only",
     "Obs: {bp}, {vital}, {vital}. Labs: {lab}, {lab}.", {"short": True}),
    # --- other languages ----------------------------------------------------------------------
    ("de_arztbrief",
     "Sehr geehrte Frau Kollegin,\nwir berichten über {name}, geb. {date}, wohnhaft {addrline}, "
     "die wegen {epo} stationär behandelt wurde. {lab}. Telefon: {phonen}.\n"
     "Mit freundlichen Grüßen\n{name2}", {"langs": ("de",)}),
    ("fr_compte_rendu",
     "Compte rendu : {name}, né(e) le {date}, demeurant {addrline}. Diagnostic : {epo}. "
     "Traitement : {drug}. Joignable au {phonen}.", {"langs": ("fr",)}),
    ("es_informe",
     "Informe: {name}, fecha de nacimiento {date}, domicilio {addrline}. Tel. {phonen}. "
     "Juicio clínico: {epo}. Tratamiento con {drug}.", {"langs": ("es",)}),
    ("nl_verwijs",
     "Geachte collega, graag verwijs ik {name} (geb. {date}), {addrline}, tel. {phonen}, "
     "in verband met {epo}. {bp}.", {"langs": ("nl",)}),
    ("it_lettera",
     "Gentile collega, le invio {name}, nato/a il {date}, residente in {addrline}, "
     "tel. {phonen}, per sospetta {epo}.", {"langs": ("it",)}),
    ("hu_zarojelentes",
     "Zárójelentés: {name}, szül. {date}, lakcím: {addrline}, tel.: {phonen}. "
     "Diagnózis: {epo}. {lab}.", {"langs": ("hu",)}),
    ("da_epikrise",
     "Epikrise: {name}, født {date}, bopæl {addrline}, tlf. {phonen}. Behandlet for {epo}.",
     {"langs": ("da",)}),
]  # fmt: skip

TEMPLATES: list[Template] = [Template(tid, text, **kw) for tid, text, kw in _T]

# Hand-written hard cases: (text with [[LABEL|...]] marks and optional slots, locale).
HARD_SENTENCES: list[tuple[str, str]] = [
    ("[[PERSON|csanád kovács]] came in with [[MEDICAL_TERM|Epstein-Barr]] mononucleosis.", "hu_HU"),
    ("[[PERSON|Søren Østergaard]]\n[[ADDRESS|Vestergade 14, 3. th.\n8000 Aarhus C]]", "da_DK"),
    ("Signed,\n[[PERSON|Ágnes Szabó]]\n[[ADDRESS|Bartók Béla út 22. II/5\n1114 Budapest]]", "hu_HU"),
    ("Pt's wife [[PERSON|王秀英]] interpreted; husband [[PERSON|李强]] has [[MEDICAL_TERM|Parkinson's]].", "zh_CN"),
    ("Family: son [[PERSON|محمد العلي]], daughter-in-law [[PERSON|فاطمة الزهراء]].", "ar_AA"),
    ("[[PERSON|Hope Baker]] has [[MEDICAL_TERM|Raynaud's]]; we [[COMMON_WORD|hope]] nifedipine helps.", "en_US"),
    ("Called [[PERSON|Will]] (grandson) who [[COMMON_WORD|will]] collect her on [[DATE|Feb 4]].", "en_GB"),
    ("[[COMMON_WORD|Frank]] blood in urine. Seen by Dr. [[PERSON|Frank Love]].", "en_US"),
    ("[[PERSON|Grace]] reports [[MEDICAL_TERM|Kawasaki disease]] as a child, treated with IVIG.", "en_US"),
    ("DOB [[DATE|7/16]], [[AGE|103 y/o]], on [[MEDICAL_TERM|Coumadin]]; [[CLINICAL_VALUE|BP 150/90]].", "en_US"),
    ("Died [[DATE|Feb 4]] at home in [[LOCATION|Kalamazoo]].", "en_US"),
    ("[[AGE|94-year-old]] from ZIP [[ZIP|02139]], uses [[MEDICAL_TERM|Ventolin]] prn.", "en_US"),
    ("SSN [[US_SSN|078051120]], call back [[PHONE|439 4166]].", "en_US"),
    ("phones: [[PHONE|26 84 10 54]] / [[PHONE|+447700556093]] / [[PHONE|544.587.7175]]", "da_DK"),
    ("Tél. [[PHONE|20-33-70-48]], portable [[PHONE|0494 41 18 24]].", "nl_BE"),
    ("Address: [[ADDRESS|559 Keller Crossing, Apt. 559, Lake Tonyafort, ND 58012]] - buzzer broken.", "en_US"),
    ("[[ADDRESS|Suite 026, 88 Harbour Rd, Cork T12 X70A]] is the carer's office.", "en_IE"),
    ("mrn [[MRN|00482913]] / hosp no [[MRN|0007731]] / plan [[HEALTH_PLAN_ID|1EG4-TE5-MK73]]", "en_US"),
    ("Vaccination cert [[CERTIFICATE_NUMBER|URN:UVCI:01:DE:A1B2C3D4E5F6G7H8#K]] checked.", "de_DE"),
    ("Plate [[VEHICLE_ID|KA-AB 1234]], VIN [[VEHICLE_ID|WVWZZZ1JZXW000001]].", "de_DE"),
    ("Pacemaker [[DEVICE_ID|PJN412345S]], UDI [[DEVICE_ID|(01)00643169001763(17)260630(10)A213B1]].", "en_US"),
    ("Retina scan ref [[BIOMETRIC_ID|RET/88213/B]] on file for [[PERSON|Jiří Dvořák]].", "cs_CZ"),
    ("[[PERSON|björn åkesson]] (no caps in referral) has [[MEDICAL_TERM|Crohn's disease]].", "sv_SE"),
    ("[[PERSON|Łukasz Wróblewski]], [[ADDRESS|ul. Długa 12/4, 80-831 Gdańsk]], tel. [[PHONE|512 345 678]].", "pl_PL"),
    ("[[PERSON|Şükrü Çelik]]'s daughter [[PERSON|Çağla]] translated. [[CLINICAL_VALUE|HbA1c 7.2%]].", "tr_TR"),
    ("Dr. [[PERSON|佐藤 健]] ([[PHONE|090-1234-5678]]) confirmed [[MEDICAL_TERM|Hashimoto's thyroiditis]].", "ja_JP"),
    ("[[PERSON|김민준]] 환자, [[MEDICAL_TERM|metformin]] 500 mg.", "ko_KR"),
    ("Interpreter [[PERSON|رضا کاظمی]] present; patient [[PERSON|مريم حدّاد]] consented.", "fa_IR"),
    ("[[PERSON|Rose]]'s temperature [[COMMON_WORD|rose]] overnight; [[CLINICAL_VALUE|K 4.1 mmol/L]].", "en_US"),
    ("Spoke with [[PERSON|Bill Price]] about the [[COMMON_WORD|price]] of [[MEDICAL_TERM|Eliquis]].", "en_US"),
    ("[[PERSON|May]] will review [[DATE|May 3]]; [[MEDICAL_TERM|Bell's palsy]] improving.", "en_GB"),
    ("[[PERSON|Dawn Young]] seen at [[COMMON_WORD|dawn]]; [[COMMON_WORD|young]] adult onset [[MEDICAL_TERM|Graves' disease]].", "en_US"),
    ("[[PERSON|Mark]]: [[COMMON_WORD|mark]] the injection site. [[CLINICAL_VALUE|pain 7/10]].", "en_US"),
    ("[[PERSON|Joy]] expressed [[COMMON_WORD|joy]] at the news. [[CLINICAL_VALUE|strength 4/5]] bilaterally.", "en_US"),
    ("Kind regards,\n[[PERSON|Gráinne Ní Bhriain]]\n[[ADDRESS|12 Bóthar na Trá, Galway H91 E2K3]]", "en_IE"),
    ("[[PERSON|Siobhán O'Dálaigh]] - [[EMAIL|siobhan.odalaigh@eircom.net]]", "en_IE"),
    ("[[PERSON|Jörg von der Mühlen]], [[ADDRESS|Königsallee 7a, 40212 Düsseldorf]], [[PHONE|0211 1234567]]", "de_DE"),
    ("[[PERSON|Maëlle de La Fontaine]], [[ADDRESS|3 bis, rue des Lilas, 69003 Lyon]], [[PHONE|06 12 34 56 78]]", "fr_FR"),
    ("Nurse [[PERSON|nguyễn thị hằng]] gave [[MEDICAL_TERM|Tylenol]] at 14:00.", "vi_VN"),
    ("[[PERSON|Дмитрий Соколов]] transferred to [[LOCATION|Novosibirsk]].", "ru_RU"),
    ("[[PERSON|Γιώργος Παπαδόπουλος]], [[PHONE|+30 694 123 4567]], [[MEDICAL_TERM|Behçet's disease]].", "el_GR"),
    ("[[PERSON|נועה כהן]] - [[PHONE|052-123-4567]]", "he_IL"),
    ("Visual acuity [[CLINICAL_VALUE|20/40]] OS; [[CLINICAL_VALUE|BP 118/76]]; last seen [[DATE|11/3]].", "en_US"),
    ("Seen [[DATE|3/4]]: [[CLINICAL_VALUE|GCS 14/15]], [[CLINICAL_VALUE|INR 2.4]] on [[MEDICAL_TERM|warfarin]].", "en_US"),
    ("[[AGE|101F]] with [[MEDICAL_TERM|Alzheimer's disease]], lives with niece [[PERSON|Patience King]].", "en_GB"),
    ("her [[AGE|90th birthday]] was [[DATE|Christmas Day]]; [[MEDICAL_TERM|Lasix]] held.", "en_US"),
    ("Account [[ACCOUNT_NUMBER|DE89 3704 0044 0532 0130 00]] ([[PERSON|Tőkés Mária]]).", "hu_HU"),
    ("Licence [[LICENSE_NUMBER|MORGA657054SM9IJ]] copied for [[PERSON|Aoife Mac Giolla Phádraig]].", "en_GB"),
    ("[[URL|https://www.facebook.com/zoe.bronte.hale]] - [[PERSON|Zoë Brontë-Hale]]'s page, per sister.", "en_GB"),
    ("Login from [[IP|2001:db8:85a3::8a2e:370:7334]] and [[IP|10.0.4.17]] by [[EMAIL|ana.nunez@telefonica.es]].", "es_ES"),
    ("[[PERSON|Núria Núñez i Puig]]\n[[ADDRESS|Carrer de Mallorca 401, 3r 2a\n08013 Barcelona]]", "es_ES"),
    ("Mother: [[PERSON|Ștefan Țurcanu]]'s wife [[PERSON|Ioana]], [[PHONE|0722 123 456]].", "ro_RO"),
    ("[[PERSON|Ólafur Þórðarson]] - [[MEDICAL_TERM|Dupuytren's contracture]] both hands.", "en_GB"),
    ("[[MEDICAL_TERM|Guillain-Barré syndrome]] after flu; [[PERSON|Anaïs Dubœuf]] informed.", "fr_FR"),
    ("[[PERSON|dženana hodžić]] called from [[PHONE|+387 61 123 456]].", "de_AT"),
    ("Wife [[PERSON|Sandy Stone]] has [[MEDICAL_TERM|Sjögren's syndrome]]; kidney [[COMMON_WORD|stone]] ruled out.", "en_US"),
    ("[[PERSON|Chase Hunter]] will [[COMMON_WORD|chase]] the [[MEDICAL_TERM|Holter monitor]] report.", "en_US"),
]  # fmt: skip
