"""The Morph button's words, in English and Korean (the rest of the bot's are in service/texts.py)."""

from __future__ import annotations

from dataclasses import dataclass

from service.texts import language


@dataclass(frozen=True)
class MorphTexts:
    button: str
    mix_line: str  # the caption's and the picture's first line
    credit_line: str
    no_author: str
    no_license: str
    share_alike_line: str
    expired: str
    not_yours: str
    not_allowed: str
    failed: str
    off: str
    usage: str
    help: str  # the line /help adds while the button is on
    privacy: str


EN = MorphTexts(
    button="🎭 Morph",
    mix_line="You {you}% · {name} {celebrity}%",
    credit_line="Photo of {name}: {license} · {author}",
    no_author="author not recorded",
    no_license="licence not recorded",
    share_alike_line="This morph is shared under {license}, as the photo is.",
    expired="That answer is too old to morph: send your selfie again.",
    not_yours="Only the person who sent this selfie can morph it.",
    not_allowed="None of {name}'s photos may be changed (their licences forbid it), so there is no morph.",
    failed="I could not draw the morph just now; press the button again in a minute.",
    off="Morphs are turned off on this bot.",
    usage="Reply /morph to one of my answers (within {minutes:g} minutes) to get your face blended with your #1.",
    help=(
        "🎭 Morph: press the button under one of my answers, or reply /morph to it (within {minutes:g} "
        "minutes), to get your face blended with your #1's."
    ),
    privacy=(
        "For the Morph button, I keep Telegram's reference to your selfie (not the photo itself, and "
        "nothing computed from your face) and which celebrity photo to use, for {minutes:g} minutes after "
        "each answer, in memory only: a restart forgets it. Only when you press it do I fetch your selfie "
        "from Telegram again, to draw the morph, and I forget it once the morph is sent."
    ),
)

KO = MorphTexts(
    button="🎭 얼굴 합성",
    mix_line="나 {you}% · {name} {celebrity}%",
    credit_line="{name} 사진: {license} · {author}",
    no_author="작가 기록 없음",
    no_license="라이선스 기록 없음",
    share_alike_line="이 합성 사진은 원본 사진과 같은 {license} 라이선스로 공유돼요.",
    expired="너무 오래된 답이라 합성할 수 없어요. 셀카를 다시 보내 주세요.",
    not_yours="이 셀카를 보낸 사람만 합성할 수 있어요.",
    not_allowed="{name}의 사진은 라이선스가 변경을 허락하지 않아서 합성할 수 없어요.",
    failed="지금은 합성 사진을 만들 수 없었어요. 잠시 후 버튼을 다시 눌러 주세요.",
    off="이 봇에서는 얼굴 합성이 꺼져 있어요.",
    usage="제 답장에 /morph 로 답장하면 ({minutes:g}분 이내) 내 얼굴과 1위 연예인 얼굴을 합성해 드려요.",
    help=(
        "🎭 얼굴 합성: 제 답장 아래 버튼을 누르거나 답장에 /morph 로 답장하면 ({minutes:g}분 이내) "
        "내 얼굴과 1위 연예인 얼굴을 합성해 드려요."
    ),
    privacy=(
        "얼굴 합성 버튼을 위해, 답을 보낸 뒤 {minutes:g}분 동안 텔레그램에 있는 셀카를 가리키는 참조(사진 자체나 "
        "얼굴에서 계산한 값은 아님)와 합성에 쓸 연예인 사진을 메모리에만 보관해요. 봇이 다시 시작되면 사라져요. "
        "버튼을 누를 때만 텔레그램에서 셀카를 다시 받아 합성하고, 합성 사진을 보낸 뒤에는 바로 지워요."
    ),
)

LANGUAGES = {"en": EN, "ko": KO}


def morph_texts(language_code: str | None) -> MorphTexts:
    """The Morph texts for a user's language code ("ko", "ko-KR" → Korean; anything else → English)."""
    return LANGUAGES[language(language_code)]
