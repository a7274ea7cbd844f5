"""The people and files the Wikidata tests build a gallery from: the shared photos under various licences.

With `--photos 3` and `--lang ko` the expected gallery is (files tried in this order):
- 버락 오바마 (Q76): P18 obama.jpg (public domain) added; category: an NC file (licence), two_people.jpg
  (several faces), a truncated file (bad image), obama-240p.jpg (face too small), a file with no licence,
  obama2.jpg (CC BY 2.0) added, a fair-use file (licence), obama3.jpg (CC BY-SA 3.0) added: 3 photos.
- 조 바이든 (Q6279): P18 biden.jpg (CC BY 3.0 us) added; category: test_obama_and_biden.jpg (several
  faces), biden_biden2.jpg (CC BY-SA 2.0) added: 2 photos (the category has no more).
- 키트 해링턴 (Q3568): no P18; category: john1 (CC BY-SA 4.0), test_kit_with_rose (several faces),
  john2 (CC0): 2 photos.
- 로즈 레슬리 (Q1399): P18 img1 (CC BY 2.0) added; img2 is CC BY-ND (licence): 1 photo.
- Alex Lacamoire (Q4717): only NC and ND files: no usable photo; no Korean label (English name used).
- 빅뱅 (Q14624): a band, not a person. 김민수 (Q901, Q902): two people, an ambiguous name.
"""

from __future__ import annotations

from tests.paths import face
from tests.wikimedia.server import StandInFile, StandInPerson, WikimediaStandIn

AUTHOR_HTML = '<a href="//commons.wikimedia.org/wiki/User:{user}" title="User:{user}">{name}</a>'
PD = {"license_short": "Public domain", "license_code": "pd", "license_url": ""}
CC0 = {
    "license_short": "CC0",
    "license_code": "cc0",
    "license_url": "https://creativecommons.org/publicdomain/zero/1.0/deed.en",
}
BY2 = {
    "license_short": "CC BY 2.0",
    "license_code": "cc-by-2.0",
    "license_url": "https://creativecommons.org/licenses/by/2.0",
}
BY3US = {
    "license_short": "CC BY 3.0 us",
    "license_code": "cc-by-3.0-us",
    "license_url": "https://creativecommons.org/licenses/by/3.0/us/deed.en",
}
BYSA2 = {
    "license_short": "CC BY-SA 2.0",
    "license_code": "cc-by-sa-2.0",
    "license_url": "https://creativecommons.org/licenses/by-sa/2.0",
}
BYSA3 = {
    "license_short": "CC BY-SA 3.0",
    "license_code": "cc-by-sa-3.0",
    "license_url": "https://creativecommons.org/licenses/by-sa/3.0",
}
BYSA4 = {
    "license_short": "CC BY-SA 4.0",
    "license_code": "cc-by-sa-4.0",
    "license_url": "https://creativecommons.org/licenses/by-sa/4.0",
}
NC = {
    "license_short": "CC BY-NC 2.0",
    "license_code": "cc-by-nc-2.0",
    "license_url": "https://creativecommons.org/licenses/by-nc/2.0",
}
ND = {
    "license_short": "CC BY-ND 4.0",
    "license_code": "cc-by-nd-4.0",
    "license_url": "https://creativecommons.org/licenses/by-nd/4.0",
}
FAIR_USE = {"license_short": "Fair use", "license_code": "", "license_url": "", "non_free": True}
NONE = {"license_short": "", "license_code": "", "license_url": ""}


def _file(server: WikimediaStandIn, name: str, photo: str, category: str | None, licence: dict, **kw) -> None:
    author = kw.pop("artist_html", AUTHOR_HTML.format(user="Kim_Photo", name="김사진 (Kim &amp; Co.)"))
    server.add_file(StandInFile(name, face(photo), artist_html=author, **licence, **kw), category)


def korean_gallery(server: WikimediaStandIn) -> WikimediaStandIn:
    """Fill the stand-in with the people and files described in this module's docstring."""
    truncated = face("barack_obama/obama2.jpg").read_bytes()
    server.add_person(
        StandInPerson(
            "Q76",
            {"ko": "버락 오바마", "en": "Barack Obama"},
            {"ko": "미국의 제44대 대통령", "en": "44th president of the United States"},
            {"ko": ["오바마"], "en": ["Barack Hussein Obama II", "Obama"]},
            images=["Obama portrait 2012.jpg"],
            category="Barack Obama",
        )
    )
    _file(
        server,
        "Obama portrait 2012.jpg",
        "barack_obama/obama.jpg",
        None,
        PD,
        artist_html='Pete Souza, <span class="fn">The White House</span>',
    )
    _file(server, "Obama at a rally (NC).jpg", "barack_obama/obama-720p.jpg", "Barack Obama", NC)
    _file(server, "Obama and Biden.jpg", "multiple/two_people.jpg", "Barack Obama", BYSA4)
    _file(
        server,
        "Obama broken.jpg",
        "barack_obama/obama2.jpg",
        "Barack Obama",
        BYSA4,
        data=truncated[: len(truncated) // 3],
    )
    _file(server, "Obama small.jpg", "barack_obama/obama-240p.jpg", "Barack Obama", BYSA4)
    _file(server, "Obama no licence.jpg", "barack_obama/obama-480p.jpg", "Barack Obama", NONE)
    _file(server, "Obama 2.jpg", "barack_obama/obama2.jpg", "Barack Obama", BY2)
    _file(server, "Obama fair use.jpg", "barack_obama/obama-1080p.jpg", "Barack Obama", FAIR_USE)
    _file(server, "Obama 3.jpg", "barack_obama/obama3.jpg", "Barack Obama", BYSA3)
    _file(server, "Obama 4.jpg", "barack_obama/test_obama1.jpg", "Barack Obama", CC0)

    server.add_person(
        StandInPerson(
            "Q6279",
            {"ko": "조 바이든", "en": "Joe Biden"},
            {"en": "46th president of the United States"},
            {"en": ["Joseph Robinette Biden Jr."]},
            images=["Joe Biden official.jpg"],
            category="Joe Biden",
        )
    )
    _file(server, "Joe Biden official.jpg", "joe_biden/biden.jpg", None, BY3US)
    _file(server, "Obama and Biden 2.jpg", "multiple/test_obama_and_biden.jpg", "Joe Biden", BYSA4)
    _file(server, "Joe Biden 2.jpg", "joe_biden/biden_biden2.jpg", "Joe Biden", BYSA2)

    server.add_person(
        StandInPerson(
            "Q3568",
            {"ko": "키트 해링턴", "en": "Kit Harington"},
            {"en": "English actor"},
            {"en": ["Christopher Catesby Harington"]},
            category="Kit Harington",
        )
    )
    _file(server, "Kit Harington 1.jpeg", "kit_harington/kit_harington_john1.jpeg", "Kit Harington", BYSA4)
    _file(server, "Kit and Rose.jpg", "multiple/test_kit_with_rose.jpg", "Kit Harington", BYSA4)
    _file(server, "Kit Harington 2.jpeg", "kit_harington/kit_harington_john2.jpeg", "Kit Harington", CC0)

    server.add_person(
        StandInPerson(
            "Q1399",
            {"ko": "로즈 레슬리", "en": "Rose Leslie"},
            {"en": "Scottish actress"},
            images=["Rose Leslie 1.jpg"],
            category="Rose Leslie",
        )
    )
    _file(server, "Rose Leslie 1.jpg", "rose_leslie/rose_leslie_img1.jpg", None, BY2)
    _file(server, "Rose Leslie 2.jpg", "rose_leslie/rose_leslie_img2.jpg", "Rose Leslie", ND)

    server.add_person(
        StandInPerson(
            "Q4717",
            {"en": "Alex Lacamoire"},
            {"en": "American music director"},
            images=["Alex Lacamoire.png"],
            category="Alex Lacamoire",
        )
    )
    _file(server, "Alex Lacamoire.png", "alex_lacamoire/alex-lacamoire.png", None, NC)
    _file(server, "Alex Lacamoire 2.jpg", "alex_lacamoire/alex_lacamoire_img1.jpg", "Alex Lacamoire", ND)

    server.add_person(StandInPerson("Q14624", {"ko": "빅뱅", "en": "Big Bang"}, instance_of="Q215380"))
    server.add_person(StandInPerson("Q901", {"ko": "김민수"}, {"ko": "대한민국의 배우"}))
    server.add_person(StandInPerson("Q902", {"ko": "김민수"}, {"ko": "대한민국의 가수"}))
    server.sparql_items = ["Q76", "Q6279", "Q3568", "Q1399", "Q4717", "Q76"]
    return server
