# ruff: noqa: E501
# (template lines are record text: their line breaks are part of the records)
"""Templates and hand-written value lists for ``make_untuned2.py``.

Template syntax: ``{slot}`` is replaced by a value the generator makes and spans; ``{slot:l}`` /
``{slot:u}`` lower-/upper-cases that value. A template is ``(id, flags, locales, text)``:
flags ``l`` lower-cases every value (sloppy notes), ``u`` upper-cases every value; ``locales``
limits a template to those locales (letters in another language), empty means any locale.

Person slots: pt, pt_first, pt_last, pt_ini (patient, one person per record), rel, rel_first
(relative), doc, doc_last, doc2, doc2_last, nurse (staff), name, first (a fresh person),
wname, wfirst, wlast (names that are ordinary English words).
Identifier slots: passport, acc, badge, claim, photo, cpf, gmc, crm, dea
dl (see PATTERN_SLOTS), date, dob, dny (no year), my (month and year), age (18-89), age_old (90+),
age_any, age_child, addr (one line), addrb (block), city, county, zip, phone, fax, email,
demail, url, ip, ssn, mrn, mbi, hpid, acct, cc, lic, cert, plate, vin, serial, udi, bio, uid.
Must-keep slots: epo, drug, drug2, nlike (conditions named like people), nother (scores,
tools, procedures named like people), frank, geo (disease names that contain a place), bp, lab, lab2, vital, frac (values that look like dates).
Plain slots (not identifiers): time, bed, n.
"""

LABELS = {"PERSON", "EMAIL", "PHONE", "FAX", "US_SSN", "DATE", "CREDIT_CARD", "IP", "ADDRESS",
          "LOCATION", "ZIP", "AGE", "URL", "MRN", "HEALTH_PLAN_ID", "ACCOUNT_NUMBER",
          "CERTIFICATE_NUMBER", "VEHICLE_ID", "DEVICE_ID", "BIOMETRIC_ID",
          "UNIQUE_ID"}  # fmt: skip

# ---------------------------------------------------------------------------- names

HAND_GIVEN = """Zsófia Örs Bálint Dóra Bjørn Åsa Øystein Sigrún Guðrún Þóra Łukasz Małgorzata
Wojciech Jiří Přemysl Květa Ștefan Ioana Mihai Çağla Gülşen Oğuz Şükrü José Iñaki Begoña
Itziar João Conceição Gonçalo Françoise Hélène Loïc Maëlle Jürgen Jörg Bärbel Dagmar Niamh
Siobhán Aoife Caoimhe Tadhg Oisín Chidi Ngozi Chiamaka Oluwaseun Adebayo Folake Kwame Akosua
Kofi Thandiwe Sipho Nomvula Tsegaye Abebe Amara Fatoumata Mamadou Aïssatou Ousmane Priya
Lakshmi Venkatesh Arjun Deepika Sandeep Ananya Kavya Muhammad Fatima Aisha Yusuf Omar Layla
Zainab Hamza Khadija Nour Tariq Reza Parisa Shirin Dariush Anh Minh Thu Hoa Jae-won Seo-yeon
Ji-hoon Hiroshi Yuki Haruto Sakura Wei Xiaoling Jun Mei Tenzin Pema Kalani Leilani Aroha Tane
Ngaio Kateřina Miloš Dragana Snežana Goran Vesna Aleksandr Yevgeniya Olha Taras Giorgos Eleni
Panagiotis Dimitra Aram Anahit Nino Levan Ilkka Päivi Tuulikki Jaana Ieva Rūta Jānis Kristīne
Mart Triin Marie-Claude Jean-Baptiste Anna-Lena Hans-Peter Mary-Kate Ana-María Juan-Carlos
Ximena Guadalupe Xochitl Yolotl Itzel Cuauhtémoc Raúl Inês Thiago Luíza Maximilián Radosław
Grzegorz Bożena Żaneta Dumitru Răzvan Gheorghe Andreea Nikolaj Søs Mette-Marie Asbjørn Lasse
Ólafur Halldóra Ásgeir Yaw Efua Abena Nana Adwoa Mthunzi Lwazi Zodwa Chukwuemeka Ifeanyi
Adaeze Babajide Temitope Mosunmola Kehinde Taiwo Tolulope Wanjiru Kamau Njeri Otieno Akinyi
Haile Selam Meron Dawit Yordanos Rahel Bilal Samira Youssef Karim Rania Salma Mariam Idris
Ebrahim Fereshteh Mehdi Navid Golnaz Yasaman Ravi Sunita Harpreet Gurpreet Manpreet Jaswinder
Sadia Farhan Nusrat Tahmina Rafiq Thanh Quỳnh Tuấn Phượng Dũng Kenji Ayaka Shun Haruka Min-jun
Ha-eun Do-yoon Soo-ah Yong Ling Zhiwei Yuxuan Somchai Siriporn Kittisak Apinya Rizal Putri
Agus Wayan Ketut Bunga Malak Noa Shira Yael Itai Moshe""".split()

HAND_FAMILY = """van der Berg|van den Heuvel|de Vries|De Smet|van Dijk|de la Cruz|de los Santos|
del Río|da Silva|dos Santos|d'Almeida|D'Angelo|O'Sullivan|Ó Briain|Mac Giolla Phádraig|
MacLeod|McAllister|al-Rashid|Al-Farsi|el-Sayed|Abu-Ghazaleh|Ben-David|Ben Ali|von Hohenberg|
zu Lynar|di Stefano|La Rosa|Le Goff|Du Pont|St. John|Saint-Pierre|ap Rhys|Nguyễn|Trần|Lê|
Phạm|Hoàng|Đặng|Kovačević|Šimić|Jovanović|Nowak-Kowalska|Wiśniewski|Grzegorczyk|Dvořák|
Procházková|Szőke|Kovács-Nagy|Tóth|Gündoğdu|Öztürk|Çelik|Yılmaz|Şahin|Müller-Lüdenscheidt|
Schröder|Großmann|Weiß|Ødegaard|Åberg|Þórsson|Sigurðardóttir|Ferreira-Gomes|García-Márquez|
López de Haro|Martínez-Ibáñez|Okonkwo|Adeyemi|Mensah|Boateng|Nkosi|Dlamini|Haile|Diallo|
Traoré|Ouédraogo|Chakraborty|Venkataraman|Iyer|Reddy|Bhattacharya|Krishnamurthy|
Subramaniam|Siddiqui|Qureshi|Chaudhry|Hosseini|Mohammadi|Tehrani|Kim|Park|Choi|Nakamura|
Watanabe|Takahashi|Kobayashi|Zhang|Wang|Liu|Chen|Huang|Papadopoulos|Georgiou|
Konstantinidis|Petrosyan|Grigoryan|Beridze|Kapanadze|Virtanen|Mäkinen|Kärkkäinen|Bērziņš|
Kazlauskas|Tamm|Ivanova|Shevchenko|Kuznetsova|Kealoha|Te Whare|Ngata|Oyelaran-Oyeyinka|
Nwachukwu|Obi|Eze|Ogunleye|Asante|Owusu-Ansah|Kariuki|Odhiambo|Wanjala|Tesfaye|Gebremedhin|
Abdi|Warsame|Hussein|Rahman|Uddin|Begum|Akhtar|Malik|Shah|Patel|Desai|Mukherjee|Pillai|
Nair|Menon|Gill|Sandhu|Dhillon|Bose|Karimi|Rostami|Farahani|Cohen|Levi|Mizrahi|Friedman|
Jurić|Babić|Horvat|Novak|Kralj|Popescu|Ionescu|Dumitrescu|Stoica|Szabó|Farkas|Halász|
Lindqvist|Sjöberg|Bergström|Håkansson|Kristiansen|Johannessen|Lehtonen|Heikkinen|Saarinen|
Bianchi|Esposito|Ricci|Fontana|Caruso|Moreau|Lefèvre|Fournier|Girard|Bonnet|Rousseau|Fernández|
Gutiérrez|Ortega|Castillo|Valenzuela|Quispe|Mamani|Huamán|Cárdenas|Nogueira|Carvalho|Araújo|
Gonçalves|Magalhães|Kowalczyk|Zieliński|Szymańska|Wójcik|Lewandowska|Sokolov|Popova|
Morozov|Novikova|Bondarenko|Melnyk|Tkachenko|Jeong|Kang|Yoon|Lim|Han|Sato|Suzuki|Ito|Yamamoto|
Fujita|Yang|Zhao|Wu|Zhou|Xu|Sun|Ma|Lin|Hu|Guo|Tran-Nguyen|Vo|Bui|Do|Ngo|Duong|Ly|Wongsawat|
Srisuk|Santoso|Wijaya|Hidayat|Siregar|Nasution|Reyes|Dela Cruz|Bautista|Mendoza|Santos|
Villanueva|Aquino""".replace("\n", "").split("|")

# full names in their own script or order: (family, given, as written)
HAND_SCRIPT = [
    ("王", "秀英", "王秀英"), ("李", "建国", "李建国"), ("张", "伟", "张伟"), ("陈", "美玲", "陈美玲"),
    ("黄", "志强", "黄志强"), ("林", "怡君", "林怡君"), ("刘", "洋", "刘洋"), ("赵", "丽华", "赵丽华"),
    ("周", "子轩", "周子轩"), ("吴", "雅婷", "吴雅婷"), ("佐藤", "健一", "佐藤 健一"),
    ("鈴木", "美咲", "鈴木美咲"), ("高橋", "翔", "高橋 翔"), ("田中", "由美子", "田中由美子"),
    ("山本", "大輔", "山本 大輔"), ("김", "민준", "김민준"), ("이", "서연", "이서연"),
    ("박", "지훈", "박지훈"), ("최", "수아", "최수아"), ("정", "하윤", "정하윤"),
    ("العلي", "محمد", "محمد العلي"), ("الزهراء", "فاطمة", "فاطمة الزهراء"),
    ("الحسيني", "أحمد", "أحمد الحسيني"), ("بن سعيد", "خالد", "خالد بن سعيد"),
    ("الشمري", "مريم", "مريم الشمري"), ("القحطاني", "عبدالله", "عبدالله القحطاني"),
    ("حداد", "ليلى", "ليلى حداد"), ("منصور", "يوسف", "يوسف منصور"),
    ("عبد الرحمن", "نورة", "نورة عبد الرحمن"), ("کریمی", "رضا", "رضا کریمی"),
    ("حسینی", "زهرا", "زهرا حسینی"), ("احمدی", "مهسا", "مهسا احمدی"),
    ("خان", "عمران", "عمران خان"), ("لوی", "یعقوب", "یعقوب لوی"),
    ("לוי", "יעקב", "יעקב לוי"), ("כהן", "שרה", "שרה כהן"), ("מזרחי", "אביגיל", "אביגיל מזרחי"),
    ("Сидоров", "Иван", "Иван Петрович Сидоров"), ("Смирнова", "Ольга", "Ольга Смирнова"),
    ("Коваленко", "Оксана", "Оксана Коваленко"), ("Παπαδόπουλος", "Γεώργιος", "Γεώργιος Παπαδόπουλος"),
    ("Νικολάου", "Μαρία", "Μαρία Νικολάου"), ("शर्मा", "राहुल", "राहुल शर्मा"),
    ("देवी", "सुनीता", "सुनीता देवी"), ("ใจดี", "สมชาย", "สมชาย ใจดี"),
    ("Nguyễn", "Thị Lan", "Nguyễn Thị Lan"), ("Trần", "Văn Hùng", "Trần Văn Hùng"),
    ("Lê", "Thị Bích Ngọc", "Lê Thị Bích Ngọc"), ("Nagy", "Erzsébet", "Nagy Erzsébet"),
    ("Kiss", "Gábor", "Kiss Gábor"), ("Yamada", "Hanako", "YAMADA Hanako"),
    ("Wong", "Ka Wai", "WONG Ka Wai"), ("Chan", "Tai Man", "Chan Tai-man"),
    ("bin Abdullah", "Ahmad Faiz", "Ahmad Faiz bin Abdullah"),
    ("binti Ismail", "Siti Aminah", "Siti Aminah binti Ismail"),
    ("García López", "María José", "María José García López"),
    ("de Souza e Silva", "Ana Beatriz", "Ana Beatriz de Souza e Silva"),
    ("Jónsdóttir", "Katrín", "Katrín Jónsdóttir"), ("Ní Bhriain", "Órla", "Órla Ní Bhriain"),
    ("Ó Súilleabháin", "Seán", "Seán Ó Súilleabháin"),
    ("Abdul-Jabbar", "Ibrahim", "Ibrahim Abdul-Jabbar"), ("Sheikh", "Abdul Qadir", "Abdul Qadir Sheikh"),
]  # fmt: skip

# given names that are also ordinary English words
WORD_GIVEN = """Rose Hope Frank Will Grant Faith Joy Grace Dawn Summer April May June Bill Mark Art
Sue Pat Rich Wade Chase Hunter Glen Cliff Drew Sandy Amber Ruby Iris Violet Heather Holly Ivy
Brook Sky Rocky Guy Jack Ray Dean Miles Lane Reed Crystal Destiny Harmony Melody Autumn
Precious Patience Trinity Major King Royal Sonny Honey Cherry Jewel Sage Hazel Olive Angel
Young Colt Buck Dusty Rusty""".split()
WORD_FAMILY = """Baker Cook Young White Black Green Brown Long Short Hill Stone Wood Rice Price Bell
Church Marsh Frost Bird Lamb Fox Wolf Moody Sharp Strong Best Sweet Hardy Love King Knight
Bishop Major Little Small Hale Walker Mason Fisher Hunter Carpenter Gay Noble Rich Swift
Goodman Joy Summers Winter May Guest Ward Chambers Parsons Payne Pain Bath
Street Lane Fields""".split()

# ---------------------------------------------------------------------------- places

STREETS = """Old Mill Rd|Pleasant View Dr|Cottonwood Ln|N Ridge Ave|Hawthorne Blvd|Sycamore Ct|
E 14th St|Lakeshore Dr|Martin Luther King Jr Way|County Road 12|Bluebonnet Trl|Kensington Pl|
W Main St|Maple Ave|Orchard Way|Willow Creek Rd|Pine St|Cedar Hollow Ln|S Broadway|Rte 9W|
Harbor View Ter|Ocean Pkwy|Magnolia Cir|Juniper Loop|Quail Run|Prairie Wind Dr|
Sunset Blvd|Elmhurst Ave|Dogwood Trce|Bayou Rd""".replace("\n", "").split("|")
US_CITIES = [
    ("Tulsa", "OK", "74105"), ("Boise", "ID", "83702"), ("Dayton", "OH", "45409"),
    ("Fresno", "CA", "93704"), ("Lubbock", "TX", "79410"), ("Albany", "NY", "12203"),
    ("Duluth", "MN", "55803"), ("Macon", "GA", "31204"), ("Provo", "UT", "84604"),
    ("Eugene", "OR", "97401"), ("Bangor", "ME", "04401"), ("Yonkers", "NY", "10701"),
    ("Paterson", "NJ", "07501"), ("Pueblo", "CO", "81003"), ("Hialeah", "FL", "33012"),
    ("Laredo", "TX", "78040"), ("Flint", "MI", "48503"), ("Gary", "IN", "46402"),
    ("Burlington", "VT", "05401"), ("Cheyenne", "WY", "82001"), ("Mobile", "AL", "36604"),
    ("Shreveport", "LA", "71101"), ("Springfield", "MA", "01103"), ("Hilo", "HI", "96720"),
    ("Fargo", "ND", "58102"), ("Santa Fe", "NM", "87501"), ("Bend", "OR", "97701"),
    ("Joliet", "IL", "60432"), ("Sioux Falls", "SD", "57104"), ("Anchorage", "AK", "99501"),
    ("Warwick", "RI", "02886"), ("Camden", "NJ", "08102"), ("Lowell", "MA", "01852"),
    ("Victoria", "TX", "77901"), ("Florence", "SC", "29501"), ("Charity", "VA", "24551"),
]  # fmt: skip
UK_STREETS = ["Coronation Street", "Acacia Avenue", "Mill Lane", "Station Road", "Kings Crescent",
              "Priory Close", "Brunswick Terrace", "Church Walk", "Sandringham Gardens"]
UK_TOWNS = ["Wolverhampton", "Stockport", "Swindon", "Doncaster", "Ipswich", "Barnsley",
            "Luton", "Wrexham", "Paisley", "Dundee", "Truro", "Carlisle"]
COUNTIES = ["Harris County", "Maricopa County", "Kings County", "Allegheny County",
            "Cuyahoga County", "Washtenaw County", "Hennepin County", "Travis County",
            "Pima County", "Fulton County", "Orleans Parish", "Jefferson Parish",
            "Kenai Peninsula Borough", "Essex County", "Lancaster County", "Monroe County",
            "Dade County", "San Juan County", "Marion County", "Polk County", "Kreis Offenbach",
            "Landkreis Görlitz", "County Mayo", "Co. Kerry", "West Yorkshire", "Rhein-Sieg-Kreis",
            "Bezirk Lichtenberg", "Val-de-Marne", "Provincia di Lecce", "comarca del Bierzo"]

# '#' digit, 'N' non-zero digit, 'A' letter, 'X' letter or digit (see Gen.pat)
PHONE_FORMATS = {
    "US": ["(N##) N##-####", "N##-N##-####", "N##.N##.####", "N##N######", "+1 N## N## ####",
           "1-N##-N##-####", "(N##)N##-#### ext. ###", "N## N## ####", "+1 (N##) N##-####"],
    "GB": ["07### ######", "+44 7### ######", "020 7### ####", "+44 (0)20 7### ####",
           "0161 ### ####", "+447#########", "01### ######"],
    "IE": ["087 ### ####", "+353 87 ### ####", "01 ### ####", "(01) ######"],
    "DE": ["0151 ########", "+49 151 ########", "030 #######", "+49 (0)89 ######-0",
           "0#### ######", "+49-30-#######"],
    "AT": ["0664 #######", "+43 664 #######", "01/### ## ##"],
    "CH": ["079 ### ## ##", "+41 79 ### ## ##", "044 ### ## ##"],
    "FR": ["06 ## ## ## ##", "+33 6 ## ## ## ##", "01.##.##.##.##", "07########",
           "+33 (0)1 ## ## ## ##"],
    "BE": ["04N# ## ## ##", "+32 47# ## ## ##", "02 ### ## ##"],
    "NL": ["06-########", "+31 6 ########", "020-#######", "(010) ### ####"],
    "ES": ["6## ### ###", "+34 6## ## ## ##", "91 ### ## ##", "+34 9## ### ###"],
    "IT": ["3## ### ####", "+39 3## #######", "06 #### ####", "+39 02 ########"],
    "PT": ["9## ### ###", "+351 9## ### ###", "21# ### ###"],
    "DK": ["## ## ## ##", "+45 ########", "+45 ## ## ## ##"],
    "SE": ["07#-### ## ##", "+46 7# ### ## ##", "08-### ### ##"],
    "NO": ["4## ## ###", "+47 4## ## ###", "9#######"],
    "FI": ["040 #######", "+358 40 ### ####", "09 ### ####"],
    "IS": ["5## ####", "+354 ### ####"],
    "PL": ["5## ### ###", "+48 5## ### ###", "22 ### ## ##"],
    "CZ": ["6## ### ###", "+420 6## ### ###"],
    "HU": ["06 30 ### ####", "+36 30 ### ####", "06-1-###-####", "+36 1 ### ####"],
    "RO": ["07## ### ###", "+40 7## ### ###"],
    "HR": ["09# ### ####", "+385 9# ### ####"],
    "GR": ["69# ### ####", "+30 69# ### ####", "210 ### ####"],
    "TR": ["05## ### ## ##", "+90 5## ### ## ##"],
    "RU": ["8 (9##) ###-##-##", "+7 9## ###-##-##", "+7 (495) ###-##-##"],
    "UA": ["0## ### ## ##", "+380 ## ### ## ##"],
    "LT": ["86## #####", "+370 6## #####"],
    "GE": ["5## ## ## ##", "+995 5## ## ## ##"],
    "IL": ["05#-###-####", "+972 5#-###-####", "03-###-####"],
    "SA": ["05# ### ####", "+966 5# ### ####", "00966 5# ### ####"],
    "IR": ["09## ### ####", "+98 9## ### ####", "021 #### ####"],
    "NG": ["080# ### ####", "+234 80# ### ####", "0703 ### ####"],
    "KE": ["07## ######", "+254 7## ######", "+254 7## ### ###"],
    "GH": ["02# ### ####", "+233 2# ### ####"],
    "ZA": ["08# ### ####", "+27 8# ### ####", "011 ### ####"],
    "IN": ["9#### #####", "+91 9#### #####", "+91-9#########", "022-#### ####", "0##-########"],
    "BD": ["01#########", "+880 1###-######"],
    "JP": ["090-####-####", "03-####-####", "+81 90 #### ####", "06-####-####"],
    "CN": ["13# #### ####", "+86 13# #### ####", "010-#### ####", "1##########"],
    "TW": ["09##-###-###", "+886 9## ### ###", "(02) ####-####"],
    "KR": ["010-####-####", "+82 10-####-####", "02-###-####"],
    "VN": ["09# ### ## ##", "+84 9# ### ####", "028 #### ####"],
    "TH": ["08# ### ####", "+66 8# ### ####", "02 ### ####"],
    "ID": ["08##-####-####", "+62 8## #### ####", "(021) ### ####"],
    "PH": ["09## ### ####", "+63 9## ### ####", "(02) #### ####"],
    "AU": ["04## ### ###", "(02) #### ####", "+61 4## ### ###", "+61 (0)3 #### ####"],
    "NZ": ["021 ### ####", "+64 21 ### ####", "(09) ### ####"],
    "BR": ["(1#) 9####-####", "+55 21 9####-####", "(##) ####-####", "+55 (11) 9#### ####"],
    "MX": ["55 #### ####", "+52 1 55 #### ####", "(33) #### ####", "+52 81 #### ####"],
    "AR": ["011 4###-####", "+54 9 11 ####-####", "(0351) ###-####"],
    "CO": ["3## ### ####", "+57 3## ### ####", "(601) ### ####"],
    "CL": ["9 #### ####", "+56 9 #### ####", "(2) 2### ####"],
}  # fmt: skip
MAIL_DOMAINS = ["gmail.com", "yahoo.co.uk", "outlook.com", "web.de", "gmx.at", "orange.fr",
                "libero.it", "hotmail.es", "uol.com.br", "wp.pl", "seznam.cz", "freemail.hu",
                "mail.ru", "naver.com", "qq.com", "yahoo.co.jp", "icloud.com", "proton.me",
                "rediffmail.com", "bigpond.com", "telia.com"]  # fmt: skip
ORG_DOMAINS = ["riverbend-health.org", "mercyvalleyclinic.net", "northgatecare.com",
               "stlukes-portal.org", "medinet-patient.eu", "eastfieldhospital.nhs.example",
               "clinicadelsol.com.mx", "sante-plus.fr", "praxis-am-ring.de"]  # fmt: skip

PLATES = {
    "US": ["N###", "NAAA###", "AAA-####", "AAA ####", "###-AAA", "NAA####"],
    "GB": ["AA## AAA", "AA##AAA"],
    "DE": ["M-AA ####", "B-A ###", "HH-AA ###", "K-AA ##", "F-A ####E"],
    "AT": ["W-#####A", "G-###AA"],
    "CH": ["ZH ######", "BE ######", "GE ####"],
    "FR": ["AA-###-AA"],
    "NL": ["##-AAA-#", "AA-###-A", "A-###-AA"],
    "BE": ["#-AAA-###"],
    "IT": ["AA ###AA", "AA###AA"],
    "ES": ["#### BCD", "####-BBB", "#### CKM"],
    "PL": ["KR ####A", "PO ###AA", r"W\A #####"],
    "BR": ["AAA#A##", "AAA-####"],
    "MX": ["AAA-###-A", "###-AAA"],
    "IN": ["MH ## AA ####", "DL #C AA ####", r"K\A-##-A-####"],
    "JP": ["品川 ### あ ##-##", "横浜 ### さ #-##"],
    "CN": ["京A·#####", "沪B·X####"],
    "AU": ["#AA#AA", "AAA-###"],
    "SE": ["AAA ###", "AAA ##A"],
    "DK": ["AA ## ###"],
    "RU": ["А ### ВС ##"],
    "SA": [r"#### \A\BD"],
    "IL": ["##-###-##", "###-##-###"],
    "KR": ["##가 ####", "###허 ####"],
}  # fmt: skip

# slot -> (label, patterns for Gen.pat: '#' digit, 'N' non-zero digit, 'A' letter,
# 'X' letter or digit, 'h' hex digit, backslash: next character literal)
PATTERN_SLOTS = {
    "passport": ("UNIQUE_ID", ["A########", "AA#######", "X##X##A##", "########", "A#######"]),
    "acc": ("UNIQUE_ID", ["S##-#####", r"\ACC-20##-######", "SP-##-######", "H##-####",
                          "##-A-#####"]),
    "badge": ("UNIQUE_ID", ["EMP-######", "######", "E####-A", "ST#####"]),
    "claim": ("UNIQUE_ID", ["CLM-##########", "WC-20##-#####", "##########"]),
    "photo": ("UNIQUE_ID", ["IMG_20##0#1#_0#####", "DSC0####.JPG", "PXL_20##0###_1#####"]),
    "cpf": ("UNIQUE_ID", ["###.###.###-##", "###########"]),
    "dl": ("CERTIFICATE_NUMBER", ["A#######", "### ### ###", "A###-###-##-###-#",
                                  "AAAAA######AA#AA", "D##-###-####", "########", "A##-##-####"]),
    "gmc": ("CERTIFICATE_NUMBER", ["N######"]),
    "crm": ("CERTIFICATE_NUMBER", ["######-SP", "#####/RJ", "CRM-MG ######"]),
}  # fmt: skip

# ---------------------------------------------------------------------------- must-keep

LABS = [
    ("HbA1c", 5.0, 13.5, 1, "%"), ("K", 2.6, 6.8, 1, " mmol/L"), ("Na", 118, 152, 0, " mmol/L"),
    ("creatinine", 0.5, 6.0, 2, " mg/dL"), ("Cr", 45, 620, 0, " umol/L"), ("eGFR", 8, 110, 0, ""),
    ("Hb", 6.1, 17.5, 1, " g/dL"), ("WBC", 1.2, 28.0, 1, ""), ("plt", 18, 610, 0, ""),
    ("INR", 0.9, 6.5, 1, ""), ("TSH", 0.01, 18.0, 2, " mIU/L"), ("troponin", 0.01, 4.5, 2, " ng/mL"),
    ("lactate", 0.6, 9.5, 1, " mmol/L"), ("CRP", 1, 310, 0, " mg/L"), ("ferritin", 4, 1900, 0, ""),
    ("LDL", 1.1, 6.2, 1, " mmol/L"), ("glucose", 2.4, 31.0, 1, " mmol/L"), ("BNP", 40, 4200, 0, ""),
    ("D-dimer", 0.1, 8.0, 2, ""), ("PSA", 0.3, 48.0, 1, " ng/mL"), ("Mg", 0.4, 1.4, 2, " mmol/L"),
    ("ALT", 9, 880, 0, " U/L"), ("bili", 0.2, 14.0, 1, " mg/dL"), ("Ca", 1.8, 3.4, 2, " mmol/L"),
    ("pH", 7.05, 7.55, 2, ""), ("pCO2", 22, 88, 0, " mmHg"), ("albumin", 1.8, 4.9, 1, " g/dL"),
    ("vit D", 6, 80, 0, " ng/mL"), ("B12", 90, 900, 0, " pg/mL"), ("urate", 3.1, 11.8, 1, " mg/dL"),
]  # fmt: skip

EPONYMS = """Epstein-Barr virus|Raynaud's phenomenon|Kawasaki disease|Parkinson's disease|
Hodgkin lymphoma|non-Hodgkin lymphoma|Bell's palsy|Graves disease|Graves' disease|
Hashimoto's thyroiditis|Crohn's disease|Addison's disease|Cushing's syndrome|Alzheimer's dementia|
Huntington's disease|Ménière's disease|Sjögren's syndrome|Guillain-Barré syndrome|
Creutzfeldt-Jakob disease|Wolff-Parkinson-White syndrome|Behçet's disease|
Osgood-Schlatter disease|Legg-Calvé-Perthes disease|Stevens-Johnson syndrome|Kaposi sarcoma|
Marfan syndrome|Ehlers-Danlos syndrome|Tourette syndrome|Asperger syndrome|Down syndrome|
Turner syndrome|Klinefelter syndrome|Wilms tumour|Ewing sarcoma|Burkitt lymphoma|
Barrett's esophagus|Meckel's diverticulum|Hirschsprung disease|Takayasu arteritis|
Kikuchi disease|Paget's disease|Peyronie's disease|Dupuytren's contracture|Baker's cyst|
Colles fracture|Bankart lesion|Hill-Sachs lesion|Charcot foot|Horner syndrome|Brugada pattern|
Mobitz II block|Wenckebach|Todd's paralysis|Wernicke encephalopathy|Korsakoff syndrome|
Tietze syndrome|de Quervain's tenosynovitis|von Willebrand disease|Still's disease|
Kussmaul breathing|Cheyne-Stokes respiration|Murphy's sign|McBurney's point|Babinski sign|
Romberg test|Trendelenburg gait|Apgar score|Wells score|Foley catheter|Swan-Ganz catheter|
Whipple procedure|Nissen fundoplication|Roux-en-Y bypass|Holter monitor|Bence Jones protein|
Reed-Sternberg cells|Lewy body dementia|Pick's disease|Tay-Sachs disease|Gaucher disease|
Fanconi anemia|Christmas disease|Conn's syndrome|Zollinger-Ellison syndrome|Budd-Chiari syndrome|
Mallory-Weiss tear|Boerhaave syndrome|Arnold-Chiari malformation|Dandy-Walker malformation|
Kernig sign|Brudzinski sign|Chvostek sign|Trousseau sign|Cullen sign|Grey Turner sign|
Virchow's node|Sister Mary Joseph nodule|Austin Flint murmur|Osler nodes|Janeway lesions|
Roth spots|Argyll Robertson pupil|Marcus Gunn pupil|Adie pupil|Hutchinson fracture|
Smith fracture|Jones fracture|Monteggia fracture|Galeazzi fracture|Lisfranc injury|
Achilles tendinopathy|Glasgow Coma Scale|Seldinger technique|Valsalva maneuver|
Heimlich maneuver|Epley maneuver|Dix-Hallpike test|Phalen test|Tinel sign|Lachman test|
McMurray test|Finkelstein test|Ortolani test|Barlow test""".replace("\n", "").split("|")

DRUGS = """Coumadin|Ventolin|warfarin|Eliquis|apixaban|Xarelto|rivaroxaban|Lasix|furosemide|Keppra|
levetiracetam|Zofran|ondansetron|Tylenol|acetaminophen|paracetamol|Advil|ibuprofen|Januvia|
Ozempic|semaglutide|Jardiance|Farxiga|metformin|Lipitor|atorvastatin|Crestor|Norvasc|amlodipine|
Synthroid|levothyroxine|lisinopril|losartan|Entresto|Plavix|clopidogrel|Brilinta|heparin|
Lovenox|enoxaparin|Humira|Keytruda|Herceptin|Dilaudid|hydromorphone|Narcan|naloxone|Valium|
Ativan|lorazepam|Seroquel|Zoloft|sertraline|Prozac|Xanax|Flomax|tamsulosin|Lantus|
insulin glargine|Humalog|Trulicity|Paxlovid|Tamiflu|Augmentin|amoxicillin|Bactrim|Cipro|
ceftriaxone|vancomycin|Zosyn|prednisone|Medrol|Solu-Medrol|Decadron|Spiriva|Symbicort|Advair|
Singulair|Marcoumar|Sintrom|Nolotil|Doliprane|Buscopan|Novalgin|Voltaren|Dafalgan|Pantozol|
Nexium|omeprazole|Protonix|Reglan|Haldol|Depakote|Lamictal|Tegretol|Dilantin|Aricept|Namenda|
Sinemet|carbidopa-levodopa|Mirapex|Botox|EpiPen|Victoza|Mounjaro|Wegovy|Rybelsus|gabapentin|
Lyrica|Cymbalta|Wellbutrin|Lexapro|Adderall|Ritalin|Suboxone|methadone|Percocet|Norco|
tramadol|Toradol|Benadryl|Claritin|Zyrtec|Flonase|Diflucan|Valtrex|Keflex|doxycycline|
Celebrex|Cialis|Viagra|Xeljanz|Stelara|Ocrevus|Tecfidera|Imbruvica|Revlimid|Tagrisso|Jakafi|
Kadcyla|Opdivo|Yervoy|Ibrance|Zytiga|Xtandi|Prolia|Forteo|Aimovig|Nurtec|Ubrelvy|Brilique|
Clexane|Fragmin|Pradaxa|Lixiana|Efient|Zyprexa|Risperdal|Abilify|Invega|Trintellix|
Concerta|Strattera|Elvanse|Medikinet|Movicol|Laxido|Senokot|Dulcolax|Gaviscon|Rennie|
Calpol|Nurofen|Panadol|Aspirin|clexane|augmentin|Bisoprolol|ramipril|spironolactone|
Aldactone|digoxin|Lanoxin|amiodarone|Cordarone|Tambocor|Multaq""".replace("\n", "").split("|")

# conditions and signs whose names look like person names
NAME_LIKE_TERMS = ["Frank hematuria", "frank haematuria", "Bell's palsy", "Graves disease",
                   "Addison's crisis", "Christmas disease", "Parkinson's", "Alzheimer's",
                   "Crohn's", "Cushing's", "Brown-Séquard syndrome", "Mallory-Weiss tear",
                   "Colles fracture", "Charcot joint", "Whipple's disease", "Austin Flint murmur",
                   "Baker's cyst", "Jones fracture", "Smith fracture", "Bennett fracture",
                   "Rolando fracture", "Hunter syndrome", "Young's syndrome", "Little's disease",
                   "Pierre Robin sequence", "Lou Gehrig's disease", "Murphy's sign",
                   "Marcus Gunn pupil", "Holly leaf sign", "Graves' orbitopathy",
                   "Hope's sign", "Rose spots", "Frank's sign", "Bell's phenomenon",
                   "Grey Turner's sign", "Beck's triad", "Carnett's sign"]  # fmt: skip
# other medical words that look like names (scores, tools, procedures)
NAME_LIKE_OTHER = ["Hope score", "GRACE score", "Wells criteria", "Foley catheter",
                   "Grant's atlas", "Tommy John surgery", "Will's eye chart", "Rose Bengal stain",
                   "Hartmann's procedure", "Gray's Anatomy", "Snellen chart", "Mayo stand",
                   "Frank-Starling law", "Jackson-Pratt drain", "Sims position",
                   "Fowler's position", "Lloyd Davies position", "Kocher incision",
                   "Pfannenstiel incision", "Allen test", "Rinne test", "Weber test"]  # fmt: skip
# disease names that contain a place
PLACE_LIKE_TERMS = ["Lyme disease", "West Nile virus", "Rocky Mountain spotted fever",
                    "Marburg virus", "Ebola", "Zika virus", "Coxsackie virus", "Norwalk virus",
                    "Lassa fever", "Hendra virus", "Japanese encephalitis", "Bornholm disease",
                    "Legionnaires' disease", "Chagas disease", "Q fever", "Ross River virus",
                    "Murray Valley encephalitis", "Crimean-Congo haemorrhagic fever",
                    "Omsk haemorrhagic fever", "Middle East respiratory syndrome",
                    "Stockholm syndrome", "Mediterranean fever", "Valley fever",
                    "Madura foot", "Oroya fever", "Delhi belly", "Bombay blood group",
                    "Hong Kong flu", "Kyasanur Forest disease", "Tularemia"]  # fmt: skip

# ---------------------------------------------------------------------------- templates
# (id, flags, locales, text)

_ANY: tuple[str, ...] = ()
TEMPLATES: list[tuple[str, str, tuple[str, ...], str]] = [
    ("t01", "", _ANY, """TRIAGE NOTE {date} {time}
Pt: {pt}   DOB: {dob}   MRN {mrn}
CC: SOB x {n} days, worse lying flat. Hx {epo}, on {drug} and {drug2}.
{bp}, {vital}, {vital}. Brought in by {rel_first} (daughter), contact {phone}."""),
    ("t02", "", _ANY, """Discharge summary - {pt_last}, {pt_first}
Admitted {date}, discharged {date}. Attending: Dr. {doc}.
Dx: {epo}; secondary {geo}. Labs at discharge: {lab}, {lab2}.
Meds on discharge: {drug} 5 mg daily, {drug2} as needed. Follow up with Dr. {doc2_last} in {n} weeks.
Home address confirmed: {addr}."""),
    ("t03", "", _ANY, """Dear Dr. {doc_last},

Thank you for seeing {pt}, a {age_any} with longstanding {epo}, who I think needs review of her {drug}.
Her latest {bp} and {lab} are attached.

Kind regards,

Dr. {doc2}
{addrb}
Tel {phone}  Fax {fax}"""),
    ("t04", "", _ANY, """{pt}
{addrb}

Re: appointment on {date}

We write to confirm your appointment at the neurology clinic regarding {epo}. Please bring your
{drug} and your insurance card (member ID {hpid})."""),
    ("t05", "l", _ANY, """pt {pt:l} {age} seen in clinic today c/o fatigue. spouse {rel_first:l} says hes been
forgetting his {drug:l}. {bp:l} {lab:l}. plan recheck {dny}. call back {phone}"""),
    ("t06", "", _ANY, """LAB REPORT
Patient name: {pt}          Sex: F          DOB: {dob}
Specimen no: {acc}         Collected: {date}
Requesting clinician: {doc}
Results: {lab}; {lab2}; {lab}. Comment: consistent with {epo}."""),
    ("t07", "", _ANY, """CT HEAD WITHOUT CONTRAST ({date})
History: {age_any} fall at home, on {drug}. {frac}.
Findings: no acute haemorrhage. Chronic small vessel change.
Reported by Dr. {doc}, dictated {dny} at {time}."""),
    ("t08", "", _ANY, """Pharmacy note: spoke with {pt} ({dob}) re interaction between {drug} and {drug2}.
Patient lives at {addr}. Refill sent to pharmacy fax {fax}. Pharmacist: {nurse}"""),
    ("t09", "", _ANY, """{hpid}
Dear {pt_first} {pt_last},
Your claim for services on {date} has been processed. Amount billed to card ending in
{cc} was reversed. Questions? Call {phone}."""),
    ("t10", "", _ANY, """From: {doc} <{demail}>
To: {nurse}
Subject: bed {bed} - {pt_last}

Can you chase the {lab} on {pt_ini}? Family ({rel}) asking for an update, their number is {phone}.
Also she is allergic to {drug}."""),
    ("t11", "", _ANY, """Phone call transcript, {date} {time}
Caller: "Hi, this is {rel}, I'm calling about my mother {pt}, she's {age_old} and she fell again."
Nurse: "Can I have her date of birth?"  Caller: "{dob}."  Caller's callback number: {phone}."""),
    ("t12", "", _ANY, """Name: {pt}
DOB: {dob}
Age: {age_any}
SSN: {ssn}
Address: {addr}
Phone: {phone}
Email: {email}
Insurance ID: {hpid}
Emergency contact: {rel} ({phone})"""),
    ("t13", "u", _ANY, """EMERGENCY DEPARTMENT RECORD
PATIENT: {pt}   MRN: {mrn}   ARRIVED: {date}
MODE OF ARRIVAL: AMBULANCE UNIT {n}
CHIEF COMPLAINT: CHEST PAIN. HX {epo}. ON {drug}.
VITALS: {bp}, {vital}."""),
    ("t14", "", _ANY, """Progress note. {pt_first} is a {age} gentleman day {n} post Whipple. {vital}, {lab}.
{nlike} noted overnight. Discussed with his son {rel_first} at bedside. Dr. {doc_last}"""),
    ("t15", "", _ANY, """Referral: Please see {pt} (NHS/MRN {mrn}) born {dob}, for assessment of {epo}.
GP: Dr {doc}, {addr}. Practice phone {phone}."""),
    ("t16", "", _ANY, """Radiology - XR chest PA ({dny})
{pt_last}, {pt_first} | {age_any} | MRN {mrn}
Comparison: {date}. Impression: {nlike}? Clinical correlation. Tech: {nurse}"""),
    ("t17", "", _ANY, """Device implant record
Patient: {pt}  DOB {dob}
Device: dual chamber pacemaker, serial {serial}, UDI {udi}
Implanted {date} by Dr. {doc} for {epo}."""),
    ("t18", "", _ANY, """Biometric enrolment log: user {pt} enrolled fingerprint template {bio} on {date}
from workstation {ip}. Previous template {bio} revoked."""),
    ("t19", "", _ANY, """Police liaison note: patient {pt} arrived after RTC. Vehicle reg {plate}, VIN {vin}.
Officer {name} (badge {badge}) took statement. Pt aged {age}, {frac}, {vital}."""),
    ("t20", "", _ANY, """Social work: {pt_first} lives alone in {city}. Daughter {rel} lives in {county}
and visits weekly. Needs home help; referred to {county} adult services. Tel {phone}."""),
    ("t21", "", _ANY, """Death certificate no. {cert}
Deceased: {pt}, aged {age_old}, of {addr}.
Died {dny} at {time}. Cause: {epo}. Certified by Dr. {doc}, licence {lic}."""),
    ("t22", "", _ANY, """Birth record: baby girl born {date} at {time} to {pt} ({age}), father {rel}.
Birth weight 3.2 kg, {frac}. Certificate {cert}. Home ZIP {zip}."""),
    ("t23", "", _ANY, """Insurance correspondence
Member: {pt}
Medicare Beneficiary Identifier: {mbi}
Date of service: {date}
The request for {drug} was denied. Appeal by {date}, or call {phone}."""),
    ("t24", "", _ANY, """Billing: account {acct} for {pt}, guarantor {rel}. Card on file {cc}.
Statement mailed to {addr} on {date}."""),
    ("t25", "", _ANY, """Consent: I, {pt}, authorise release of my records to {rel} ({email}).
Signed {date}. Witness: {nurse}."""),
    ("t26", "l", _ANY, """msg from {rel_first:l}: hi its {rel_first:l}, {pt_first:l}'s sister. she ran out of
{drug:l} again, can dr {doc_last:l} call her on {phone}? thx"""),
    ("t27", "", _ANY, """Voicemail {dny} {time}: "Hello, this is {name} from the cardiology office returning a call
for {pt}. Her Holter results are in. Please call us back at {phone}." """),
    ("t28", "", _ANY, """Patient portal message from {pt} ({email}), sent from IP {ip}:
"Is it OK to take {drug} with {drug2}? My {bp} this morning." Reply by {nurse}."""),
    ("t29", "", _ANY, """Telehealth visit {date}. Link {url}. Patient {pt} joined from {city}.
Assessment: {epo}, stable. {lab}. Next visit {dny}."""),
    ("t30", "", _ANY, """Nursing handover bed {bed}: {pt_first} {pt_last}, {age_any}, falls risk, {frac}.
{drug} held (INR high). Son {rel_first} visiting, his mobile {phone}. Nurse {nurse}."""),
    ("t31", "", _ANY, """Pathology report {acc}
Patient: {pt_last}, {pt_first}; DOB {dob}; MRN {mrn}
Specimen received {date}. Diagnosis: {epo}. Pathologist: {doc}, MD"""),
    ("t32", "", _ANY, """ADMISSION H&P
{pt} is a {age_any} with {epo} and {geo} presenting with fever. Meds: {drug}, {drug2}.
Lives with wife {rel_first} at {addr}. {bp}, {vital}, {lab}."""),
    ("t33", "", _ANY, """Dr. {doc}
Consultant Rheumatologist
{addrb}
Tel: {phone} | Fax: {fax} | {demail}"""),
    ("t34", "", _ANY, """Clinic letter cc: {pt}, {addr}

Diagnosis: {epo}
Medication: {drug}, {drug2}
{pt_first} was reviewed today. {bp}. Repeat bloods in {n} weeks."""),
    ("t35", "", _ANY, """Ophthalmology: {pt}, {age}. {frac} right, {frac} left. Hx {nlike}.
Drops: {drug}. Review {dny}."""),
    ("t36", "", _ANY, """DRIVER'S FITNESS FORM
Applicant: {pt}
Driver licence no.: {dl}
Vehicle registration: {plate}
Condition: {epo}. Fit to drive: no. Examiner: Dr. {doc}, {date}"""),
    ("t37", "", _ANY, """Home visit {date}: {pt}, {age_old}, found alone at {addr}. Neighbour {wname}
let us in. {frac}, {vital}. Daughter {rel} contacted on {phone}."""),
    ("t38", "", _ANY, """ADT event: pt {pt_last} transferred from {city} General to ward {bed} on {date}.
Accepting: Dr {doc}. Ambulance plate {plate}."""),
    ("t39", "", _ANY, """Subject: FW: {pt} - results
{nurse}, please see below. {lab}, {lab2}. Dr. {doc_last} wants a repeat on {dny}.
--
{doc}
{demail} | {phone}"""),
    ("t40", "l", _ANY, """{pt_first:l} {pt_last:l} here again, {age}, hx {epo:l}. says {wfirst:l} (her
grandson) drove her in. bp {bp:l}. gave {drug:l}. d/c home to {city:l}"""),
    ("t41", "", _ANY, """Medication reconciliation for {pt} - source: {rel} (husband), {phone}.
1) {drug} 2) {drug2} 3) {drug}. Stopped {drug2} on {dny}."""),
    ("t42", "", _ANY, """Pre-op checklist: {pt}  MRN {mrn}  DOB {dob}
Allergies: {drug}. Implant: {udi}. Consent signed by {rel} (POA).
{bp} {lab}"""),
    ("t43", "", _ANY, """Vaccination record: {pt}, born {dob}. Dose {n} given {date}, lot {serial}.
EU digital certificate {cert}. Given by {nurse}."""),
    ("t44", "", _ANY, """Occupational health: employee {pt}, staff no. {badge}, passport {passport}.
Fit note issued {date}. Hx {epo}. Manager: {name}."""),
    ("t45", "", _ANY, """{pt_last} {pt_first}
{addrb}
{phone}

Dear Sir/Madam, I am writing to request a copy of my records from {my} to {my}. My hospital
number is {mrn}. Yours faithfully, {pt}"""),
    ("t46", "", _ANY, """Ambulance PCR: called {time} to {addr} for {age_old} female, unresponsive.
GCS improved after {drug}. {bp}, {vital}. Pt identified as {pt} by carer {name}."""),
    ("t47", "", _ANY, """Sleep study: {pt}, {age}, BMI 34. AHI 42. CPAP device serial {serial}.
Data uploaded from {ip} on {date}. Reported by {doc}."""),
    ("t48", "", _ANY, """Dialysis unit: {pt_first} {pt_last} attended {dny}. Pre {bp}, post {bp}. {lab}.
Transport: taxi plate {plate}. Next session {dny}."""),
    ("t49", "", _ANY, """Genetics: proband {pt} ({age}); mother {rel}, {age_any}, affected with {epo}.
Family from {city}. Sample {acc}. Counsellor: {name}, {demail}."""),
    ("t50", "u", _ANY, """MEDICATION ADMINISTRATION RECORD
PATIENT {pt} WARD {bed} DOB {dob}
{drug} 40 MG GIVEN {time} BY {nurse}"""),
    ("t51", "", _ANY, """IT security ticket: unauthorised chart access to {pt} (MRN {mrn}) from {ip} on {date}.
Account owner {name}; user viewed address {addr} and SSN {ssn}."""),
    ("t52", "", _ANY, """Mental health assessment: {pt_first} ({age}) reports low mood since {my}. Lives in
{city} with partner {rel_first}. On {drug}. Risk low. Crisis line card given."""),
    ("t53", "", _ANY, """Wound clinic: {pt_ini}, {age_any}. Venous ulcer L leg. Photo ref {photo}. {frac}.
Dressing changed by {nurse}. {lab}."""),
    ("t54", "", _ANY, """Workers' comp claim {claim}: {pt}, SSN {ssn}, injured {date} at work. Employer
contact {name}, {phone}. Dx {epo}."""),
    ("t55", "", _ANY, """Obstetrics: G2P1, {age}, EDD {dny}. Partner {rel}. {bp}, {lab}. Hx {geo} in
pregnancy 1. Booking bloods {date}."""),
    ("t56", "", _ANY, """Paediatrics: {pt_first} is a {age_child} seen with mum {rel}. {vital}, {frac}.
Dx {epo}. Rx {drug} weight-based. Home: {addr}."""),
    ("t57", "", _ANY, """Hospice note: {pt}, {age_old}, comfortable. {drug} via syringe driver. Wife {rel_first}
and grandson {wname} at bedside. Died {dny} {time}, verified by {nurse}."""),
    ("t58", "", _ANY, """Fax cover sheet
To: Dr. {doc} Fax: {fax}
From: {name} Phone: {phone}
Re: {pt}, DOB {dob}
Pages: {n}"""),
    ("t59", "", _ANY, """Prior authorisation: {drug} for {pt}, plan ID {hpid}, Rx by {doc} (DEA {dea}).
Dx {epo}; failed {drug2}. Submitted {date}."""),
    ("t60", "", _ANY, """Interpreter log: {name} (interpreter) for {pt}, language Tigrinya. Session {date}.
Patient asked about {drug}. Callback {phone}."""),
    ("t61", "l", _ANY, """Transcribed dictation: this is doctor {doc_last:l} dictating on {pt:l}, date of birth
{dob}, medical record number {mrn}. the patient is a {age_any} with {epo:l}. {bp:l}."""),
    ("t62", "", _ANY, """Audit: smart card {bio} (face template) used by {name} at {time} on {date}, terminal {ip}."""),
    ("t63", "", _ANY, """Discharge instructions for {pt_first}: take {drug} twice daily. Watch for
signs of {nlike}. If worse call {phone} or go to the nearest ED. Next appt {dny} with {doc}."""),
    ("t64", "", _ANY, """Medical Examiner case {cert}: {pt}, {age_any}, found {dny} in {county}.
Vehicle {vin} at scene. Next of kin {rel}, {addr}."""),
    ("t65", "", _ANY, """Physiotherapy: {pt_first} {pt_last} - hip flexion {frac}, {frac}. {nlike} ruled out.
Walks with frame. Lives with {rel_first} on the 3rd floor, {addr}."""),
    ("t66", "", _ANY, """Patient: {pt} | MRN: {mrn} | Room {bed} | Attending: {doc} | Insurance: {hpid} |
Admit: {date} | Dx: {epo} | Code status: DNR"""),
    ("t67", "", _ANY, """{pt} (DOB {dny}) asked us to send results to {email} and to her
daughter's address {addr}. Confirmed identity with passport {passport}."""),
    ("t68", "", _ANY, """Refill request: {pt}, {drug} 20 mg. Pharmacy: {addr}, phone {phone}, fax {fax}.
Last {bp}. Approved by Dr. {doc_last}."""),
    ("t69", "", _ANY, """Infection control: contact tracing for {geo}. Index patient {pt} (ward {bed}). Contacts:
{name}, {name}, {wname}. Notified county health officer in {county}."""),
    ("t70", "", _ANY, """Oncology MDT {date}: {pt}, {age_any}, {epo}. On {drug}. {lab}. ECOG 1.
Plan: cycle {n}. Port serial {serial}. Presented by Dr. {doc}."""),
    ("t71", "", _ANY, """Hearing aid fitting: {pt}, {age_old}. Right aid serial {serial}, left {serial}.
Remote fitting via {url}. Review {dny}."""),
    ("t72", "", _ANY, """Bank transfer for patient fund: from {acct} to {acct}, ref {pt_last}. Authorised by
{name} on {date}."""),
    ("t73", "", _ANY, """Dental: {pt}, {age}. 36 MOD composite. {drug} for infection. Guardian {rel}, {phone}.
Next recall {my}."""),
    ("t74", "", _ANY, """Complaint received {date} from {rel} regarding care of her father {pt} ({age_old}).
Reply to {addr} or {email}. Handled by patient relations, {name}."""),
    ("t75", "", _ANY, """ECG: sinus rhythm 72, {epo}? QTc 470. On {drug}. Compared with {date}. {pt_ini}, bed {bed}.
Reviewed {dny} by {doc}."""),
    ("t76", "", _ANY, """Research screening log: {pt_ini} ({age}) excluded - on {drug}. Contact via {email}.
Screened {date} by {name}."""),
    ("t77", "", _ANY, """Sick note: This is to certify that {pt}, of {addr}, was seen on {date} and is unfit for
work until {dny} owing to {epo}. Dr {doc}, GMC {gmc}"""),
    ("t78", "", _ANY, """Nephrology letter: {pt_first} has {geo}-associated nephropathy? Unlikely. Most
likely {epo}. {lab}, {lab2}, {bp}. She lives in {city}, {zip}."""),
    ("t79", "l", _ANY, """sms to {phone}: hi {pt_first:l}, reminder of ur appt with {nurse:l} on {dny} at
{time}. reply Y to confirm. {url}"""),
    ("t80", "", _ANY, """Guardianship file: {pt}, {age_old}, of {county}; guardian {rel} ({phone}); court
order dated {date}; SSN on file {ssn}."""),
    ("t81", "", _ANY, """Wearable data import: glucose monitor {udi}, patient {pt}, {lab}. Synced from {ip}.
Insulin {drug}. Device registered to {email}."""),
    ("t82", "", _ANY, """Speech therapy: {pt_first}, {age_any}, after stroke. {frac}. Word list: rose, will,
hope, frank. Reads the names {wfirst} and {wfirst} correctly. Carer {rel_first}."""),
    ("t83", "", _ANY, """Transport booking: collect {pt} from {addr} on {dny} at {time}. Wheelchair. Contact
{rel} {phone}. Vehicle {plate}."""),
    ("t84", "", _ANY, """Allergy clinic: {pt} ({age}). Reaction to {drug}: urticaria. {nlike} unrelated.
Skin prick {date}. Carries {drug2}. GP {doc}."""),
    ("t85", "u", _ANY, """ACCOUNT SUMMARY - {pt}
ACCT NO {acct}   MEMBER ID {hpid}   DATE {date}
BALANCE DUE. CALL {phone}."""),
    ("t86", "", _ANY, """Clinic list {date}:
09:00 {pt} - {epo} f/u
09:20 {name} - {drug} review
09:40 {wname} - new, {geo}?
10:00 {name} - {bp} recheck"""),
    ("t87", "", _ANY, """Chaplaincy: visited {pt_first} ({age_old}) at her request; she asked that {rel} in
{city} be told. Hymn 'Amazing Grace'. {frac}."""),
    ("t88", "", _ANY, """Biometric access - pharmacy vault. {name} palm-vein id {bio}; {name} iris template {bio}.
Entry {date} {time}. Items: {drug} x 2."""),
    ("t95", "", _ANY, """REGISTRATION
Surname: {pt_last}
Given name(s): {pt_first}
Date of birth: {dob}
Town/city: {city}
Postcode/ZIP: {zip}
County: {county}
Home tel: {phone}
NOK: {rel}"""),
    ("t96", "", _ANY, """Cashier note {date}: co-pay taken from card {cc} (cardholder {rel}). Receipt emailed to
{email}. Patient {pt_ini}. Balance moved to account {acct}."""),
    ("t97", "l", _ANY, """admin: pt {pt:l} gave ssn as {ssn} over phone, dob {dob}, zip {zip}. card in
wallet says member {hpid:l}. told to bring id next time."""),
    ("t98", "", _ANY, """Social media concern: a fundraising page for {pt_first} {pt_last} ({url}) shows photos
from the ward. Family member {rel} informed. Page reported {dny}."""),
    ("t99", "", _ANY, """Urology: {frank} x {n} days. On {drug} for AF. {pt_first}'s wife {wfirst} says it
started after the fall. {lab}, {bp}. Cystoscopy booked with Mr {doc_last}."""),
    ("t100", "u", _ANY, """MRI LUMBAR SPINE
NAME: {pt}   DOB: {dob}   ACC: {acc}   DATE: {date}
REFERRER: {doc}
HISTORY: {age_any}, BACK PAIN, {frac}. HX {epo}.
IMPRESSION: L4/5 DISC PROTRUSION. NO CORD COMPRESSION."""),
    ("t101", "", _ANY, """Problem list ({pt_last}):
- {epo}
- {epo}
- {nlike}
- {geo} (travel, {my})
Meds: {drug}, {drug2}, {drug}"""),
    ("t102", "", _ANY, """Call log {dny} {time} - {name} rang from {city} asking for her aunt {pt}.
Identity not confirmed; declined to give information. Caller's number {phone}, alt {phone}."""),
    ("t103", "l", _ANY, """ed note: {age_any} brought by police from {addr:l}, found wandering. name per
bracelet {pt:l}. mrn {mrn}. {vital:l}, {frac:l}. hx {epo:l}, on {drug:l}."""),
    ("t104", "", _ANY, """[{time}] {nurse}: bed {bed} asking for {drug} again
[{time}] {doc}: ok give it, and page me if {bp} or worse
[{time}] {nurse}: also daughter {rel_first} on the line, {phone}"""),
    ("t105", "", _ANY, """Theatre list {date}
1. {name}  {dob}  MRN {mrn}  - lap chole
2. {name}  {dob}  MRN {mrn}  - {epo} repair
3. {wname}  {dob}  MRN {mrn}  - {nlike}?"""),
    ("t106", "", _ANY, """Name on passport: {name}. Name used on ward: {first}. Passport no. {passport}. Arrived
from {city} {dny}. Screening for {geo} negative."""),
    ("t107", "", _ANY, """Neurology: {pt} ({age_old}) with {epo}; daughter {wname} is carer. {frac}, {frac}.
{drug} increased. Old notes from {county} requested via fax {fax}."""),
    ("t108", "", _ANY, """Pharmacy dispensing: {drug} 28 tabs for {pt}, {addr}. Prescriber {doc} ({dea}).
Collected by {rel} showing driving licence {dl}."""),
    ("t109", "", _ANY, """Teaching round {date}: students reviewed {nother}, {nother} and {nother}.
{wfirst} presented {pt_ini} ({age_any}) with {nlike}; Dr {doc_last} led."""),
    # letters in the patient's language, used only with their locales
    ("t89", "", ("de_DE", "de_AT", "de_CH"), """Sehr geehrte Frau Kollegin,
wir berichten über {pt}, geb. {dob}, wohnhaft {addr}, die sich vom {date} bis {date} in unserer
stationären Behandlung befand. Diagnose: {epo}. Medikation: {drug}, {drug2}. {bp}.
Mit freundlichen Grüßen, Dr. {doc}, Tel. {phone}"""),
    ("t90", "", ("fr_FR", "fr_CA"), """Cher confrère,
Je vous adresse {pt}, née le {dob}, demeurant {addr}, pour avis concernant une {epo}.
Traitement : {drug}. {lab}. Confraternellement, Dr {doc} - {phone}"""),
    ("t91", "", ("es_ES", "es_MX", "es_AR", "es_CO", "es_CL"), """Informe de alta: {pt}, {age_any}, NHC {mrn}.
Ingreso {date}. Diagnóstico principal: {epo}. Tratamiento: {drug}. Domicilio: {addr}.
Teléfono de contacto: {phone}. Firmado: Dr. {doc}"""),
    ("t92", "", ("pt_BR", "pt_PT"), """Encaminhamento: paciente {pt}, nascida em {dob}, CPF {cpf}, residente em {addr}.
Hipótese diagnóstica: {epo}. Em uso de {drug}. {bp}. Dr(a). {doc}, CRM {crm}"""),
    ("t93", "", ("it_IT",), """Lettera di dimissione: sig.ra {pt}, nata il {dob}, residente in {addr}.
Diagnosi: {epo}. Terapia: {drug}. Contatto: {phone}. Dott. {doc}"""),
    ("t94", "", ("nl_NL", "nl_BE"), """Geachte collega, hierbij verwijs ik {pt}, geboren {dob}, wonende {addr}, in
verband met {epo}. Medicatie: {drug}. Met vriendelijke groet, {doc}, {phone}"""),
]

SNIPPETS: list[tuple[str, str, tuple[str, ...], str]] = [
    ("s01", "", _ANY, """Addendum {dny}: spoke to {rel} on {phone}, agrees with plan."""),
    ("s02", "", _ANY, """--
{doc}
{addrb}"""),
    ("s03", "", _ANY, """PS: {pt_first}'s {drug} dose changed; {bp}."""),
    ("s04", "", _ANY, """Signed electronically by {doc} on {date} at {time}."""),
    ("s05", "l", _ANY, """sent from my iphone - {nurse:l}"""),
    ("s06", "", _ANY, """Confidential: intended only for {pt}. If received in error call {phone}."""),
    ("s07", "", _ANY, """cc: {name}, {addr}"""),
    ("s08", "", _ANY, """Interpreter: {name}. Carer: {wname} ({phone})."""),
    ("s09", "", _ANY, """Note: {nlike} - not a name. Pt {age_any}, {frac}."""),
    ("s10", "", _ANY, """Patient identifiers checked: name {pt}, DOB {dob}, MRN {mrn}."""),
    ("s11", "", _ANY, """Late entry for {dny}: {lab}; {drug} restarted."""),
    ("s12", "", _ANY, """Contact: {email} / {phone}"""),
    ("s13", "", _ANY, """Reviewed with {doc_last} - agree. {vital}."""),
    ("s14", "", _ANY, """Nearest relative: {rel}, {addr}, {phone}."""),
    ("s15", "", _ANY, """Scanned ID: {uid}; insurance {hpid}."""),
    ("s16", "l", _ANY, """ps {rel_first:l} will bring his {drug:l} tmrw"""),
]
