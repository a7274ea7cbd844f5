"""Every word the bot and the collages show, in English and Korean (for users whose Telegram language is ko).

Texts are `str.format` templates; each language fills the same fields.
Long on purpose: the catalogue of every user text in both languages, kept in one place to read side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from engine.calibration import REASONS
from store.wikidata_build import WHY


@dataclass(frozen=True)
class Texts:
    # collage labels
    title: str
    you: str
    distance: str
    similarity: str
    gallery_size: str
    # private chat
    start: str
    help: str
    privacy: str
    working: str
    result_caption_head: str
    result_line: str
    several_faces_note: str
    no_face: str
    unreadable: str
    too_large: str
    not_image: str
    busy: str
    one_at_a_time: str
    hint_text: str
    hint_media: str
    failed: str
    empty_gallery: str
    # admins
    not_admin: str
    add_usage: str
    add_result_head: str
    add_added: str
    add_duplicate: str
    add_refused: str
    refusal_no_face: str
    refusal_several_faces: str
    refusal_face_too_small: str
    refusal_bad_image: str
    refusal_too_large: str
    refusal_invalid_name: str
    remove_usage: str
    removed: str
    unknown_name: str
    rename_usage: str
    renamed: str
    name_taken: str
    invalid_name: str
    list_head: str
    list_line: str
    list_empty: str
    list_more: str
    stats: str
    export_caption: str
    import_usage: str
    import_started: str
    import_result: str
    import_bad_zip: str
    # groups
    group_hint: str
    # games
    game_groups_only: str
    game_empty_gallery: str
    game_started: str
    game_running: str
    game_entry: str
    game_entry_no_face: str
    game_nobody: str
    game_result_head: str
    game_result_line: str
    game_winner: str
    game_winners: str
    game_board_title: str
    game_board_empty: str
    game_not_yours: str
    game_no_round: str
    game_over_entry: str
    game_entry_late: str
    game_interrupted: str
    game_interrupted_result: str
    leaderboard_head: str
    leaderboard_line: str
    leaderboard_empty: str
    twins_usage: str
    twins_need_two: str
    twins_title: str
    twins_caption: str
    twins_line: str
    # Wikidata and credits
    wikidata_usage: str
    wikidata_too_many: str
    wikidata_progress: str
    wikidata_done: str
    wikidata_refused: str
    wikidata_no_photo: str
    wikidata_not_found: str
    wikidata_refused_count: str
    # a build's refused photos by kind (store/wikidata_build.py `Report.refused`), and why an item was not built
    wikidata_kind_license: str
    wikidata_kind_missing: str
    wikidata_kind_not_a_photo: str
    wikidata_kind_no_face: str
    wikidata_kind_several_faces: str
    wikidata_kind_face_too_small: str
    wikidata_kind_bad_image: str
    wikidata_kind_too_large: str
    wikidata_kind_not_found: str
    wikidata_kind_invalid_name: str
    wikidata_kind_duplicate: str
    wikidata_kind_far_from_other_photos: str
    wikidata_kind_busy: str
    wikidata_kind_download_failed: str
    wikidata_why_no_match: str
    wikidata_why_ambiguous: str
    wikidata_why_no_item: str
    wikidata_why_not_person: str
    wikidata_failed: str
    wikidata_no_contact: str
    credits_head: str
    credits_line: str
    credits_none: str
    credits_more: str
    credits_hint: str
    collage_credits: str
    # the admins' Mini App (/admin)
    admin_app: str
    admin_app_button: str
    admin_app_private_only: str
    admin_app_not_configured: str
    # similarity calibration, audits, albums of selfies
    stats_fitted: str
    stats_fixed: str
    # why the calibration is what it is (engine/calibration.py `REASONS`)
    calibration_not_fitted: str
    calibration_other_version: str
    calibration_unreadable: str
    calibration_incomplete: str
    calibration_too_small: str
    calibration_fitted: str
    add_suspect: str
    import_suspects: str
    audit_clean: str
    audit_head: str
    audit_outlier: str
    audit_double: str
    audit_howto: str
    audit_title: str
    audit_usage: str
    audit_kept: str
    audit_dropped: str
    audit_distinct: str
    audit_no_photo: str
    album_caption_head: str
    kept_note: str
    privacy_memory: str
    privacy_share: str
    share_button: str
    share_none: str
    # the gallery's disk (full or read-only): changes refused, answers go on
    gallery_disk_full: str
    gallery_read_only: str
    gallery_paused: str  # the same refusal, in a player's words
    game_entry_unrecorded: str
    game_end_waits_disk_full: str  # a round whose end cannot be written yet: it ends by itself later
    game_end_waits_read_only: str
    stats_disk_full: str
    stats_read_only: str
    stats_not_durable: str


EN = Texts(
    title="Who do you look like?",
    you="You",
    distance="distance",
    similarity="similarity",
    gallery_size="Gallery: {celebrities} celebrities, {photos} photos",
    start=(
        "Hi {name}! Send me a selfie and I will tell you which celebrity you look like.\n"
        "Tip: one face, looking at the camera, in good light."
    ),
    help=(
        "How it works: send me a photo of your face (as a photo or as an image file). I find the face, "
        "compare it with {celebrities} celebrities and send back the five closest, with a similarity score. "
        "Two selfies can get different answers: when two celebrities are nearly tied, your last answer stays "
        "first, and if you send 2–3 selfies together as an album I compare all your faces at once, for a "
        "steadier answer.\n\n"
        "In groups: send a photo with the caption /lookalike, or reply /lookalike to a photo. "
        "/game starts a round: everyone replies to the round message with a selfie, and the closest face wins. "
        "/twins as a reply to a group photo shows how alike the people in it are. /leaderboard shows the winners.\n\n"
        "/privacy: what I keep (nothing of yours)."
    ),
    privacy=(
        "Privacy: your photo and the numbers computed from your face are used only while I work on your "
        "answer, and then forgotten. I keep no user photo and no user face data. I store only the celebrity "
        "gallery (added by the bot's admins) and, in groups, game winners' names and scores."
    ),
    working="Looking for your celebrity twin…",
    result_caption_head="Your closest celebrities:",
    result_line="{rank}. {name} — {similarity:.0f}%",
    several_faces_note="I found {count} faces and used the biggest one. For the best result, send a photo of just you.",
    no_face=(
        "I could not find a face in this photo. Tip: send a clear photo of one face, looking at the camera, "
        "in good light, not too far away."
    ),
    unreadable="I could not read this image — it seems damaged or cut off. Please send it again as a photo.",
    too_large="This file is too big for me (the limit is 20 MB, 50 megapixels). Please send a smaller photo.",
    not_image="That file is not an image I can read. Send a JPEG, PNG or WebP photo.",
    busy="I am very busy right now — please try again in a minute.",
    one_at_a_time="I am still working on your previous photo — one at a time, please.",
    hint_text="Send me a selfie (a photo of your face) and I will find your celebrity lookalike. /help",
    hint_media="I can only look at photos. Send me a selfie! /help",
    failed="Sorry, something went wrong on my side. Please try again.",
    empty_gallery="The celebrity gallery is empty, so there is nobody to compare you with yet.",
    not_admin="Sorry, only the bot's admins can do that.",
    add_usage="Send a photo with the caption /add NAME (or reply /add NAME to a photo).",
    add_result_head="Adding {name}:",
    add_added="✅ photo {number}: added",
    add_duplicate="↩️ photo {number}: already in the gallery",
    add_refused="❌ photo {number}: {reason}",
    refusal_no_face="no face found",
    refusal_several_faces="several faces — a gallery photo needs exactly one",
    refusal_face_too_small="the face is too small — use a closer photo",
    refusal_bad_image="not a readable image",
    refusal_too_large="the file is too big",
    refusal_invalid_name="that name cannot be used",
    remove_usage="Usage: /remove NAME",
    removed="Removed {name} ({photos} photos).",
    unknown_name="There is nobody called {name} in the gallery.",
    rename_usage="Usage: /rename OLD NAME | NEW NAME",
    renamed="Renamed {old} to {new}.",
    name_taken="{name} is already in the gallery.",
    invalid_name="That name cannot be used: {reason}.",
    list_head="Celebrities ({count}), page {page} of {pages}:",
    list_line="{name} — {photos} photos",
    list_empty="The gallery is empty. Add someone with a photo captioned /add NAME.",
    list_more="More: /list {next}",
    stats=(
        "Gallery: {celebrities} celebrities, {photos} photos.\n"
        "Photos waiting or in work: {pending} (limit {limit}); workers: {workers} ({kind})."
    ),
    export_caption="The gallery for projector.tensorflow.org: load vectors.tsv and metadata.tsv.",
    import_usage="Send a .zip of photos as a file with the caption /import (folders NAME/photos or files NAME.jpg).",
    import_started="Importing {count} photos…",
    import_result="Import done: {added} added, {duplicates} already there, {rejected} refused.",
    import_bad_zip="That zip cannot be imported: {reason}.",
    group_hint="Send a photo with the caption /lookalike, or reply /lookalike to a photo.",
    game_groups_only="Games are played in groups: add me to a group and send /game there.",
    game_empty_gallery="The gallery is empty: there is nobody to play against yet.",
    game_started=(
        "🎮 New round: who looks most like {name}?\n"
        "Reply to this message with a selfie within {seconds} seconds. Your best photo counts. "
        "/endgame ends the round early."
    ),
    game_running="A round against {name} is already running: {seconds} seconds left. Reply to its message with a selfie!",
    game_entry="{player}: {similarity:.1f}% like {name} (your best: {best:.1f}%)",
    game_entry_no_face="{player}: I could not find a face in that photo — try another one.",
    game_nobody="The round against {name} is over, and nobody played. Start another with /game.",
    game_result_head="🏁 Round over: who looks most like {name}?",
    game_result_line="{rank}. {player} — {similarity:.1f}%",
    game_winner="🏆 {players} wins!",
    game_winners="🏆 A tie! {players} win!",
    game_board_title="Who looks most like {name}?",
    game_board_empty="Nobody played",
    game_not_yours="Only the player who started the round or a group admin can end it.",
    game_no_round="No round is running. Start one with /game (or /game NAME).",
    game_over_entry="{player}: this round is over. Start a new one with /game.",
    game_entry_late="{player}: {similarity:.1f}% like {name}, but too late: the round was already over.",
    game_interrupted="The round against {name} was interrupted by a restart of the bot, before anybody played. Start a new one with /game.",
    game_interrupted_result="The round against {name} was interrupted by a restart of the bot; here is where it stood:",
    leaderboard_head="🏆 Leaderboard of this group:",
    leaderboard_line="{rank}. {player} — {wins} wins, best {best:.1f}%",
    leaderboard_empty="No winners here yet. Start a round with /game!",
    twins_usage="Reply /twins to a photo with two or more faces (or send an album of two photos captioned /twins).",
    twins_need_two="I need at least two faces for a twin check; I found {count}.",
    twins_title="Twin check",
    twins_caption="Most alike: {a} and {b} — {similarity:.1f}%",
    twins_line="{a} & {b}: {similarity:.1f}%",
    wikidata_usage=(
        "Usage: /wikidata NAME_OR_ID … — Wikidata ids (Q…) separated by spaces, or names separated by commas "
        "or new lines; each person is added with freely licensed Commons photos, credited."
    ),
    wikidata_too_many="At most {limit} people at a time here; for more, use `lookalike wikidata` on the server.",
    wikidata_progress="Wikidata: {done} of {total} people done…",
    wikidata_done="Wikidata: {added} people added, {updated} updated, {photos} photos added.",
    wikidata_refused="Photos refused: {reasons}",
    wikidata_no_photo="No usable photo: {people}",
    wikidata_not_found="Not found: {item} — {why}",
    wikidata_refused_count="{reason} {count}",
    wikidata_kind_license="license",
    wikidata_kind_missing="missing",
    wikidata_kind_not_a_photo="not_a_photo",
    wikidata_kind_no_face="no_face",
    wikidata_kind_several_faces="several_faces",
    wikidata_kind_face_too_small="face_too_small",
    wikidata_kind_bad_image="bad_image",
    wikidata_kind_too_large="too_large",
    wikidata_kind_not_found="not_found",
    wikidata_kind_invalid_name="invalid_name",
    wikidata_kind_duplicate="duplicate",
    wikidata_kind_far_from_other_photos="far_from_other_photos",
    wikidata_kind_busy="busy",
    wikidata_kind_download_failed="download_failed ({detail})",
    wikidata_why_no_match=WHY["no_match"],
    wikidata_why_ambiguous=WHY["ambiguous"],
    wikidata_why_no_item=WHY["no_item"],
    wikidata_why_not_person=WHY["not_person"],
    wikidata_failed="Wikidata or Commons stayed unreachable ({reason}). What was done is kept; send the command again later.",
    wikidata_no_contact=(
        "Not started: Wikimedia asks every client for a contact. Set WIKIMEDIA_CONTACT (a URL or an e-mail "
        "address) in the bot's settings and restart it."
    ),
    credits_head="Photo credits ({count}):",
    credits_line="{name}: {author}, {license} — {source}",
    credits_none="No gallery photos to credit yet.",
    credits_more="… and {more} more (`lookalike credits` lists them all).",
    credits_hint="Photo credits: /credits",
    collage_credits="Photos: {credits}",
    admin_app="The gallery at a glance: celebrities, photos and credits, the audit and the bot's status.",
    admin_app_button="Open the gallery",
    admin_app_private_only="The admin app opens from a private chat with me: send /admin there.",
    admin_app_not_configured="The admin app is not set up: set WEB_APP_URL (see .env.example).",
    stats_fitted=(
        "Similarity %: fitted on this gallery ({celebrities} celebrities, {photos} photos): 50 % at distance "
        "{half:.2f}, same person below {boundary:.2f}."
    ),
    stats_fixed="Similarity %: dlib's fixed curve (50 % at distance 0.60): {reason}.",
    calibration_not_fitted=REASONS["not_fitted"],
    calibration_other_version=REASONS["other_version"],
    calibration_unreadable=REASONS["unreadable"],
    calibration_incomplete=REASONS["incomplete"],
    calibration_too_small=REASONS["too_small"],
    calibration_fitted=REASONS["fitted"],
    add_suspect="⚠️ photo {number}: added, but far from {name}'s other photos (photo id {photo_id}): see /audit",
    import_suspects="⚠️ {count} photos are far from their celebrity's other photos: see /audit",
    audit_clean="The audit found nothing suspect: every photo is close to its celebrity's others, and no two names look like one person.",
    audit_head="Audit: {outliers} suspect photos, {doubles} pairs of names that may be one person.",
    audit_outlier="📷 photo {photo_id} of {name}: {distance:.2f} from its other photos",
    audit_double="👥 {a} = {b}? ({distance:.2f})",
    audit_howto=(
        "Decide: /audit keep ID (the photo is right), /audit drop ID (remove it), "
        "/audit distinct NAME | OTHER (different people), or merge the names with /remove."
    ),
    audit_title="Audit: left the suspect, right the celebrity",
    audit_usage="Usage: /audit, /audit keep ID, /audit drop ID, /audit distinct NAME | OTHER",
    audit_kept="Photo {photo_id} kept: the audit will not report it again.",
    audit_dropped="Photo {photo_id} of {name} removed.",
    audit_distinct="{a} and {b} are different people: the audit will not pair them again.",
    audit_no_photo="There is no photo {photo_id} in the gallery.",
    album_caption_head="Your closest celebrities, from your {count} photos together:",
    kept_note=(
        "{name} stays first, as for your last selfie: {nearest} is only a hair closer in this photo, "
        "less than two selfies of one face differ."
    ),
    privacy_memory=(
        "So that one face gets one answer, I remember the name of your last lookalike (a celebrity's name, "
        "not your photo or face) for {minutes:g} minutes, in memory only: a near-tie goes to it."
    ),
    privacy_share=(
        "So that you can share a result (the Share button), I keep Telegram's reference to each collage I "
        "send you here and its caption — not your photo — for {minutes:g} minutes, in memory only; only "
        "you are offered them. Results in groups are never offered."
    ),
    share_button="📤 Share",
    share_none="No result to share yet: send me a selfie",
    gallery_disk_full="No space left on the gallery's disk: nothing was changed. Free some space and try again.",
    gallery_read_only="The gallery is read-only: nothing was changed.",
    gallery_paused="I can't save anything right now, so that didn't go through. Please try again later.",
    game_entry_unrecorded=(
        "{player}: {similarity:.1f}% like {name}, but I can't save scores right now, so this one doesn't "
        "count. Try again in a while."
    ),
    game_end_waits_disk_full=(
        "⏳ The round against {name} can't end yet: my storage is full, so I can't save its results. "
        "The scores so far are kept, and the round will end by itself as soon as I can save them."
    ),
    game_end_waits_read_only=(
        "⏳ The round against {name} can't end yet: my storage is read-only, so I can't save its results. "
        "The scores so far are kept, and the round will end by itself as soon as I can save them."
    ),
    stats_disk_full="No space left on the gallery's disk: answers work, changes are refused.",
    stats_read_only="The gallery is read-only: answers work, changes are refused.",
    stats_not_durable=(
        "The disk refuses the job table: selfies are answered without being recorded, so a crash now "
        "would lose the ones in progress."
    ),
)

KO = Texts(
    title="나랑 닮은 연예인은 누구?",
    you="나",
    distance="거리",
    similarity="닮은 정도",
    gallery_size="갤러리: 연예인 {celebrities}명, 사진 {photos}장",
    start=(
        "안녕하세요 {name}님! 셀카를 보내 주시면 어떤 연예인을 닮았는지 알려 드릴게요.\n"
        "팁: 얼굴 하나, 정면, 밝은 곳에서 찍은 사진이 좋아요."
    ),
    help=(
        "사용법: 얼굴 사진을 보내 주세요 (사진 또는 이미지 파일). 얼굴을 찾아 연예인 {celebrities}명과 비교하고, "
        "가장 닮은 다섯 명을 닮은 정도와 함께 보내 드려요. 셀카마다 답이 달라질 수 있어요. "
        "두 연예인이 거의 비슷하면 지난번 답을 1위로 두고, "
        "셀카 2~3장을 앨범으로 한 번에 보내 주시면 모든 얼굴을 함께 비교해서 더 한결같은 답을 드려요.\n\n"
        "그룹에서는: 사진에 /lookalike 캡션을 달거나, 사진에 /lookalike 로 답장하세요. "
        "/game 으로 게임을 시작하면 모두 게임 메시지에 셀카로 답장하고, 가장 닮은 얼굴이 이겨요. "
        "단체 사진에 /twins 로 답장하면 서로 얼마나 닮았는지 보여 드려요. /leaderboard 는 우승자 순위예요.\n\n"
        "/privacy: 보관하는 정보 (회원님의 것은 없어요)."
    ),
    privacy=(
        "개인정보: 보내 주신 사진과 얼굴에서 계산한 값은 답을 만드는 동안에만 쓰고 바로 지워요. "
        "사용자 사진이나 얼굴 데이터는 보관하지 않아요. 저장하는 것은 관리자가 추가한 연예인 갤러리와, "
        "그룹 게임 우승자의 이름과 점수뿐이에요."
    ),
    working="닮은 연예인을 찾는 중…",
    result_caption_head="가장 닮은 연예인:",
    result_line="{rank}. {name} — {similarity:.0f}%",
    several_faces_note="얼굴을 {count}개 찾아서 가장 큰 얼굴로 비교했어요. 혼자 나온 사진이면 더 정확해요.",
    no_face="사진에서 얼굴을 찾지 못했어요. 팁: 얼굴 하나가 정면으로, 밝고 가깝게 나온 사진을 보내 주세요.",
    unreadable="이미지를 읽을 수 없어요. 파일이 손상되었거나 잘린 것 같아요. 사진으로 다시 보내 주세요.",
    too_large="파일이 너무 커요 (최대 20MB, 5천만 화소). 더 작은 사진을 보내 주세요.",
    not_image="읽을 수 있는 이미지 파일이 아니에요. JPEG, PNG, WebP 사진을 보내 주세요.",
    busy="지금 요청이 너무 많아요. 1분 뒤에 다시 시도해 주세요.",
    one_at_a_time="이전 사진을 아직 처리하고 있어요. 한 장씩 보내 주세요.",
    hint_text="셀카(얼굴 사진)를 보내 주시면 닮은 연예인을 찾아 드릴게요. /help",
    hint_media="사진만 볼 수 있어요. 셀카를 보내 주세요! /help",
    failed="죄송해요, 문제가 생겼어요. 다시 시도해 주세요.",
    empty_gallery="연예인 갤러리가 비어 있어서 아직 비교할 사람이 없어요.",
    not_admin="죄송해요, 관리자만 할 수 있어요.",
    add_usage="사진에 /add 이름 캡션을 달아 보내 주세요 (또는 사진에 /add 이름 으로 답장).",
    add_result_head="{name} 추가:",
    add_added="✅ 사진 {number}: 추가됨",
    add_duplicate="↩️ 사진 {number}: 이미 갤러리에 있음",
    add_refused="❌ 사진 {number}: {reason}",
    refusal_no_face="얼굴을 찾지 못함",
    refusal_several_faces="얼굴이 여러 개 — 갤러리 사진에는 얼굴이 하나만 있어야 해요",
    refusal_face_too_small="얼굴이 너무 작음 — 더 가까이서 찍은 사진을 써 주세요",
    refusal_bad_image="읽을 수 없는 이미지",
    refusal_too_large="파일이 너무 큼",
    refusal_invalid_name="쓸 수 없는 이름",
    remove_usage="사용법: /remove 이름",
    removed="{name} 삭제 (사진 {photos}장).",
    unknown_name="갤러리에 {name}(이)라는 사람이 없어요.",
    rename_usage="사용법: /rename 이전 이름 | 새 이름",
    renamed="{old} → {new} 이름을 바꿨어요.",
    name_taken="{name}은(는) 이미 갤러리에 있어요.",
    invalid_name="쓸 수 없는 이름이에요: {reason}.",
    list_head="연예인 {count}명, {page}/{pages} 페이지:",
    list_line="{name} — 사진 {photos}장",
    list_empty="갤러리가 비어 있어요. 사진에 /add 이름 캡션을 달아 추가하세요.",
    list_more="다음: /list {next}",
    stats="갤러리: 연예인 {celebrities}명, 사진 {photos}장.\n대기 중이거나 처리 중인 사진: {pending} (한도 {limit}); 작업자: {workers} ({kind}).",
    export_caption="projector.tensorflow.org 용 갤러리: vectors.tsv 와 metadata.tsv 를 불러오세요.",
    import_usage="사진을 묶은 .zip 파일에 /import 캡션을 달아 보내 주세요 (폴더 이름/사진 또는 파일 이름.jpg).",
    import_started="사진 {count}장 가져오는 중…",
    import_result="가져오기 완료: {added}장 추가, {duplicates}장 이미 있음, {rejected}장 거절.",
    import_bad_zip="이 zip은 가져올 수 없어요: {reason}.",
    group_hint="사진에 /lookalike 캡션을 달거나, 사진에 /lookalike 로 답장하세요.",
    game_groups_only="게임은 그룹에서 해요: 저를 그룹에 초대하고 거기서 /game 을 보내 주세요.",
    game_empty_gallery="갤러리가 비어 있어서 아직 게임을 할 수 없어요.",
    game_started=(
        "🎮 새 게임: {name}와(과) 가장 닮은 사람은?\n"
        "{seconds}초 안에 이 메시지에 셀카로 답장하세요. 가장 잘 나온 사진이 기록돼요. "
        "/endgame 으로 일찍 끝낼 수 있어요."
    ),
    game_running="{name} 게임이 이미 진행 중이에요: {seconds}초 남았어요. 게임 메시지에 셀카로 답장하세요!",
    game_entry="{player}: {name}와(과) {similarity:.1f}% 닮음 (최고 기록: {best:.1f}%)",
    game_entry_no_face="{player}: 사진에서 얼굴을 찾지 못했어요. 다른 사진으로 해 보세요.",
    game_nobody="{name} 게임이 끝났지만 아무도 참가하지 않았어요. /game 으로 다시 시작하세요.",
    game_result_head="🏁 게임 끝: {name}와(과) 가장 닮은 사람은?",
    game_result_line="{rank}. {player} — {similarity:.1f}%",
    game_winner="🏆 {players} 우승!",
    game_winners="🏆 동점! {players} 공동 우승!",
    game_board_title="{name}와(과) 가장 닮은 사람은?",
    game_board_empty="참가자 없음",
    game_not_yours="게임을 시작한 사람이나 그룹 관리자만 끝낼 수 있어요.",
    game_no_round="진행 중인 게임이 없어요. /game (또는 /game 이름) 으로 시작하세요.",
    game_over_entry="{player}: 이 게임은 이미 끝났어요. /game 으로 새 게임을 시작하세요.",
    game_entry_late="{player}: {name}와(과) {similarity:.1f}% 닮음 — 아쉽지만 게임이 이미 끝난 뒤였어요.",
    game_interrupted="봇이 다시 시작되어 {name} 게임이 중단됐어요 (참가자 없음). /game 으로 새 게임을 시작하세요.",
    game_interrupted_result="봇이 다시 시작되어 {name} 게임이 중단됐어요. 그때까지의 결과예요:",
    leaderboard_head="🏆 이 그룹의 순위:",
    leaderboard_line="{rank}. {player} — {wins}승, 최고 {best:.1f}%",
    leaderboard_empty="아직 우승자가 없어요. /game 으로 게임을 시작하세요!",
    twins_usage="얼굴이 둘 이상 나온 사진에 /twins 로 답장하세요 (또는 사진 두 장을 묶어 /twins 캡션으로 보내기).",
    twins_need_two="닮은꼴 비교에는 얼굴이 둘 이상 필요해요. 찾은 얼굴: {count}개.",
    twins_title="닮은꼴 비교",
    twins_caption="가장 닮은 둘: {a}와(과) {b} — {similarity:.1f}%",
    twins_line="{a} & {b}: {similarity:.1f}%",
    wikidata_usage=(
        "사용법: /wikidata 이름_또는_ID … — 위키데이터 ID(Q…)는 띄어쓰기로, 이름은 쉼표나 줄바꿈으로 구분해요. "
        "위키미디어 공용의 자유 라이선스 사진을 출처와 함께 추가해요."
    ),
    wikidata_too_many="여기서는 한 번에 {limit}명까지예요. 더 많으면 서버에서 `lookalike wikidata`를 쓰세요.",
    wikidata_progress="위키데이터: {total}명 중 {done}명 완료…",
    wikidata_done="위키데이터: {added}명 추가, {updated}명 갱신, 사진 {photos}장 추가.",
    wikidata_refused="거절된 사진: {reasons}",
    wikidata_no_photo="쓸 수 있는 사진 없음: {people}",
    wikidata_not_found="찾지 못함: {item} — {why}",
    wikidata_refused_count="{reason} {count}장",
    wikidata_kind_license="라이선스",
    wikidata_kind_missing="공용에 없는 파일",
    wikidata_kind_not_a_photo="사진이 아닌 파일",
    wikidata_kind_no_face="얼굴 없음",
    wikidata_kind_several_faces="얼굴 여러 개",
    wikidata_kind_face_too_small="얼굴이 너무 작음",
    wikidata_kind_bad_image="읽을 수 없는 이미지",
    wikidata_kind_too_large="파일이 너무 큼",
    wikidata_kind_not_found="파일 없음",
    wikidata_kind_invalid_name="쓸 수 없는 이름",
    wikidata_kind_duplicate="이미 갤러리에 있음",
    wikidata_kind_far_from_other_photos="다른 사진들과 많이 다름",
    wikidata_kind_busy="작업자가 바쁨",
    wikidata_kind_download_failed="내려받기 실패 ({detail})",
    wikidata_why_no_match="위키데이터에 그 이름의 사람이 없어요",
    wikidata_why_ambiguous="{count}명이 해당돼요 ({choices}). Q-id로 지정해 주세요",
    wikidata_why_no_item="위키데이터에 없는 항목이에요",
    wikidata_why_not_person="{label}은(는) 사람이 아니에요 (P31≠Q5)",
    wikidata_failed="위키데이터나 공용에 연결할 수 없어요({reason}). 한 작업은 저장됐어요. 나중에 다시 보내 주세요.",
    wikidata_no_contact=(
        "시작하지 않았어요: 위키미디어는 모든 클라이언트에 연락처를 요구해요. 봇 설정에 WIKIMEDIA_CONTACT "
        "(URL 또는 이메일 주소)를 넣고 다시 시작하세요."
    ),
    credits_head="사진 출처 ({count}):",
    credits_line="{name}: {author}, {license} — {source}",
    credits_none="아직 출처를 표시할 갤러리 사진이 없어요.",
    credits_more="… 외 {more}장 (`lookalike credits`로 전부 볼 수 있어요).",
    credits_hint="사진 출처: /credits",
    collage_credits="사진: {credits}",
    admin_app="갤러리 한눈에 보기: 연예인, 사진과 출처, 점검 결과, 봇 상태.",
    admin_app_button="갤러리 열기",
    admin_app_private_only="관리 앱은 저와의 개인 채팅에서 열려요. 거기서 /admin 을 보내세요.",
    admin_app_not_configured="관리 앱이 설정되지 않았어요: WEB_APP_URL 을 설정하세요 (.env.example 참고).",
    stats_fitted=(
        "닮은 정도 %: 이 갤러리에 맞춰 계산 (연예인 {celebrities}명, 사진 {photos}장): 거리 {half:.2f}에서 50 %, "
        "{boundary:.2f} 미만이면 같은 사람."
    ),
    stats_fixed="닮은 정도 %: dlib 기본 곡선 (거리 0.60에서 50 %): {reason}.",
    calibration_not_fitted="아직 갤러리에 맞추지 않았어요",
    calibration_other_version="저장된 보정이 다른 버전이에요",
    calibration_unreadable="저장된 보정을 읽을 수 없어요",
    calibration_incomplete="저장된 보정이 온전하지 않아요",
    calibration_too_small=(
        "갤러리가 아직 작아서 맞출 수 없어요: 연예인 {celebrities}명, 그중 사진이 여러 장인 연예인 "
        "{paired}명 (연예인 {min_celebrities}명, 사진이 여러 장인 연예인 {min_paired}명 이상 필요)"
    ),
    calibration_fitted="연예인 {celebrities}명, 사진 {photos}장으로 맞춤",
    add_suspect="⚠️ 사진 {number}: 추가했지만 {name}의 다른 사진들과 많이 달라요 (사진 번호 {photo_id}): /audit 확인",
    import_suspects="⚠️ 사진 {count}장이 같은 연예인의 다른 사진들과 많이 달라요: /audit 확인",
    audit_clean="점검 결과 이상 없음: 모든 사진이 같은 연예인의 다른 사진과 가깝고, 같은 사람으로 보이는 두 이름도 없어요.",
    audit_head="점검: 의심 사진 {outliers}장, 같은 사람일 수 있는 이름 {doubles}쌍.",
    audit_outlier="📷 {name}의 사진 {photo_id}: 다른 사진들과 거리 {distance:.2f}",
    audit_double="👥 {a} = {b}? ({distance:.2f})",
    audit_howto=(
        "결정: /audit keep 번호 (맞는 사진), /audit drop 번호 (삭제), "
        "/audit distinct 이름 | 다른 이름 (다른 사람), 같은 사람이면 /remove 로 정리하세요."
    ),
    audit_title="점검: 왼쪽 의심 사진, 오른쪽 연예인",
    audit_usage="사용법: /audit, /audit keep 번호, /audit drop 번호, /audit distinct 이름 | 다른 이름",
    audit_kept="사진 {photo_id}을(를) 유지해요: 다시 보고하지 않아요.",
    audit_dropped="{name}의 사진 {photo_id}을(를) 삭제했어요.",
    audit_distinct="{a}와(과) {b}는 다른 사람: 다시 짝짓지 않아요.",
    audit_no_photo="갤러리에 사진 {photo_id}이(가) 없어요.",
    album_caption_head="사진 {count}장을 함께 보고 찾은 가장 닮은 연예인:",
    kept_note=(
        "지난 셀카처럼 {name} 님을 1위로 두었어요. 이번 사진만 보면 {nearest} 님이 아주 조금 더 가깝지만, "
        "같은 얼굴의 셀카끼리 달라지는 정도보다 작은 차이예요."
    ),
    privacy_memory=(
        "같은 얼굴에 같은 답을 드리려고, 마지막으로 닮은 연예인의 이름만 (사진이나 얼굴 데이터가 아니라 연예인 이름) "
        "{minutes:g}분 동안 메모리에만 기억해요. 거의 비슷한 후보가 있으면 그 이름을 1위로 둬요."
    ),
    privacy_share=(
        "결과를 공유할 수 있도록 (공유하기 버튼), 여기서 보내 드린 콜라주의 텔레그램 참조와 캡션만 (사진은 아니에요) "
        "{minutes:g}분 동안 메모리에만 보관하고, 회원님에게만 보여 드려요. 그룹에서 나온 결과는 공유 목록에 넣지 않아요."
    ),
    share_button="📤 공유하기",
    share_none="아직 공유할 결과가 없어요: 셀카를 보내 주세요",
    gallery_disk_full="갤러리 디스크에 남은 공간이 없어요: 아무것도 바뀌지 않았어요. 공간을 비운 뒤 다시 시도해 주세요.",
    gallery_read_only="갤러리가 읽기 전용이에요: 아무것도 바뀌지 않았어요.",
    gallery_paused="지금은 아무것도 저장할 수 없어서 처리하지 못했어요. 잠시 뒤에 다시 시도해 주세요.",
    game_entry_unrecorded=(
        "{player}: {name}와(과) {similarity:.1f}% 닮음 — 하지만 지금은 점수를 저장할 수 없어서 이번 기록은 "
        "반영되지 않아요. 잠시 뒤에 다시 해 보세요."
    ),
    game_end_waits_disk_full=(
        "⏳ 봇의 저장 공간이 가득 차서 결과를 저장할 수 없어, {name} 게임을 아직 끝내지 못했어요. "
        "지금까지의 점수는 그대로 남아 있고, 저장할 수 있게 되는 대로 게임이 자동으로 끝나요."
    ),
    game_end_waits_read_only=(
        "⏳ 봇의 저장 공간이 읽기 전용 상태라 결과를 저장할 수 없어, {name} 게임을 아직 끝내지 못했어요. "
        "지금까지의 점수는 그대로 남아 있고, 저장할 수 있게 되는 대로 게임이 자동으로 끝나요."
    ),
    stats_disk_full="갤러리 디스크에 공간이 없어요: 답변은 되지만 변경은 거부돼요.",
    stats_read_only="갤러리가 읽기 전용이에요: 답변은 되지만 변경은 거부돼요.",
    stats_not_durable=(
        "디스크가 작업 기록을 거부해서 셀카를 기록 없이 답하고 있어요: 지금 멈추면 처리 중인 셀카는 사라져요."
    ),
)

LANGUAGES = {"en": EN, "ko": KO}


def language(language_code: str | None) -> str:
    """The language the texts are in for a user's language code: "ko" ("ko", "ko-KR"), else "en"."""
    if language_code and language_code.lower().split("-")[0] == "ko":
        return "ko"
    return "en"


def texts(language_code: str | None) -> Texts:
    """The texts for a user's language code ("ko", "ko-KR" → Korean; anything else → English)."""
    return LANGUAGES[language(language_code)]


def coded(t: Texts, prefix: str, code: str, params: Mapping[str, object], fallback: str) -> str:
    """The words for what a lower layer said as a `code` and `params` (the template `prefix + code`), or
    `fallback` — the English the lower layer wrote — for a code without a template here."""
    template = getattr(t, prefix + code, None) if code else None
    if not isinstance(template, str):
        return fallback
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return fallback


def field_names() -> list[str]:
    """All text keys (for tests that check both languages fill every template the same way)."""
    return [f.name for f in fields(Texts)]
