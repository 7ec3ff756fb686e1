"""Content rules: the default keyword fixture, evasions, overlapping hits and fixture loading errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.content import Action, Category, ContentRules, ContentRulesError, Rule
from smppgw.content.normalise import normalise_for_matching

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "content" / "keywords.toml"

# Starter list of the reference (section 4), by category.
STARTER_TERMS = {
    "invoice": ["发票", "代开", "代开发票", "增值税专票", "办证", "刻章", "invoice"],
    "gambling": ["博彩", "赌场", "百家乐", "六合彩", "casino", "betting"],
    "loans": ["贷款", "无抵押", "秒批", "套现", "网贷", "内幕消息", "loan"],
    "fraud": ["刷单", "兼职", "日结", "中奖", "领取奖金", "安全账户", "refund"],
    "adult": ["裸聊", "成人视频", "同城约会"],
    "politics": ["维权", "上访", "集会"],
    "contact_diversion": ["加微信", "加QQ"],
}
NEGATIVE_CONTROLS = [
    "您的电子发票已开具",
    "您本月贷款还款日为15日",
    "【某某招聘】兼职岗位面试通知",
    "验证码123456，5分钟内有效",
]
# Characters a sender slips between letters to dodge a filter; all must fold away.
SEPARATORS = [
    " ",
    "*",
    "-",
    "_",
    ".",
    "·",
    "，",
    "。",
    "、",
    "！",
    "\u3000",
    "\u200b",
    "\u200d",
    "\ufeff",
    "/",
    "|",
    "🙂",
]


@pytest.fixture(scope="module")
def rules() -> ContentRules:
    return ContentRules.from_toml(FIXTURE)


_RULES = ContentRules.from_toml(FIXTURE)
ALL_TERMS = sorted({rule.term for rule in _RULES.rules})


def _hit_terms(rules: ContentRules, text: str) -> list[str]:
    return [hit.matched for hit in rules.check(text).hits]


# --- the fixture ---------------------------------------------------------------------------------


def test_fixture_holds_the_starter_list(rules: ContentRules) -> None:
    listed = {(rule.category, rule.term) for rule in rules.rules}
    missing = [(cat, term) for cat, terms in STARTER_TERMS.items() for term in terms if (cat, term) not in listed]
    assert missing == []


def test_fixture_has_one_category_per_art15_item_with_specific_phrases(rules: ContentRules) -> None:
    by_legal: dict[int, set[str]] = {}
    for rule in rules.rules:
        if rule.legal_category is not None:
            by_legal.setdefault(rule.legal_category, set()).add(rule.category)
    assert sorted(by_legal) == list(range(1, 10))
    assert all(len(categories) == 1 for categories in by_legal.values())
    national_security = {rule.term for rule in rules.rules if rule.legal_category == 2}
    assert "颠覆国家政权" in national_security
    for legal in range(1, 10):
        assert sum(1 for rule in rules.rules if rule.legal_category == legal) >= 3


@pytest.mark.parametrize(
    ("text", "action", "deciding"),
    [
        ("代开发票", Action.REJECT, "代开发票"),
        ("【某某财税】专业代开发票，价格优惠", Action.REJECT, "代开发票"),
        ("博彩", Action.REVIEW, "博彩"),
        ("【某某娱乐】博彩平台上线啦", Action.REVIEW, "博彩"),
        ("颠覆国家政权", Action.SUSPEND, "颠覆国家政权"),
        ("号召大家颠覆国家政权", Action.SUSPEND, "颠覆国家政权"),
    ],
)
def test_required_default_actions(rules: ContentRules, text: str, action: Action, deciding: str) -> None:
    verdict = rules.check(text)
    assert verdict.action is action
    assert verdict.deciding is not None
    assert verdict.deciding.matched == deciding
    assert verdict.deciding.rule.action is action


@pytest.mark.parametrize(
    "word", ["发票", "贷款", "兼职", "refund", "invoice", "loan", "中奖", "日结", "网贷", "代开", "加微信", "招聘"]
)
def test_broad_single_words_are_only_flagged(rules: ContentRules, word: str) -> None:
    verdict = rules.check(f"您好，{word}相关事宜请查看 ")
    assert verdict.action is Action.FLAG
    assert word in [hit.matched for hit in verdict.hits]


@pytest.mark.parametrize("text", NEGATIVE_CONTROLS)
def test_negative_controls_are_never_held_or_refused(rules: ContentRules, text: str) -> None:
    assert rules.check(text).action in (None, Action.FLAG)


def test_verification_code_is_clean(rules: ContentRules) -> None:
    verdict = rules.check("【某某银行】验证码123456，5分钟内有效，请勿泄露给他人。")
    assert verdict.action is None
    assert verdict.hits == ()
    assert verdict.deciding is None


def test_legitimate_notice_flags_but_names_the_hits(rules: ContentRules) -> None:
    verdict = rules.check("【某某招聘】兼职岗位面试通知")
    assert verdict.action is Action.FLAG
    assert {"招聘", "兼职"} == set(_hit_terms(rules, "【某某招聘】兼职岗位面试通知"))


# --- evasions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "action"),
    [
        ("发*票", "发票", Action.FLAG),
        ("发 票", "发票", Action.FLAG),
        ("發票", "发票", Action.FLAG),
        ("發 票", "发票", Action.FLAG),
        ("代開發票", "代开发票", Action.REJECT),
        ("代\u200b开-发_票", "代开发票", Action.REJECT),
        ("代 開 發 票", "代开发票", Action.REJECT),
        ("ｃａｓｉｎｏ", "casino", Action.REVIEW),
        ("ＣＡＳＩＮＯ", "casino", Action.REVIEW),
        ("C.A.S.I.N.O", "casino", Action.REVIEW),
        ("CASINO", "casino", Action.REVIEW),
        ("Càsíñó", "casino", Action.REVIEW),
        ("Online  Casino!", "online casino", Action.REJECT),
        ("INVOICE", "invoice", Action.FLAG),
        ("加 q q", "加QQ", Action.FLAG),
        ("賭場", "赌场", Action.REVIEW),
        ("顛覆國家政權", "颠覆国家政权", Action.SUSPEND),
        ("颠·覆·国·家·政·权", "颠覆国家政权", Action.SUSPEND),
    ],
)
def test_evasions_still_match(rules: ContentRules, text: str, term: str, action: Action) -> None:
    verdict = rules.check(text)
    assert term in [hit.matched for hit in verdict.hits]
    assert verdict.action is action


@given(
    term=st.sampled_from(ALL_TERMS),
    fillers=st.lists(st.lists(st.sampled_from(SEPARATORS), max_size=3).map("".join), min_size=40, max_size=40),
    before=st.sampled_from(["", "您好，", "hello ", "【某某】", "123 "]),
    after=st.sampled_from(["", "，谢谢", " now", "。"]),
)
def test_separators_between_letters_never_hide_a_term(term: str, fillers: list[str], before: str, after: str) -> None:
    spread = "".join(ch + fillers[i % len(fillers)] for i, ch in enumerate(term))
    assert term in _hit_terms(_RULES, before + spread + after)


@given(st.text())
def test_folding_twice_changes_nothing(text: str) -> None:
    once = normalise_for_matching(text)
    assert normalise_for_matching(once) == once


# --- matching semantics --------------------------------------------------------------------------


def test_every_listed_term_matches_when_it_is_the_whole_text(rules: ContentRules) -> None:
    for rule in rules.rules:
        verdict = rules.check(rule.term)
        assert rule in [hit.rule for hit in verdict.hits], rule.term
        assert verdict.action is not None
        assert verdict.action.severity >= rule.action.severity


def test_overlapping_terms_are_all_listed_and_the_most_severe_decides(rules: ContentRules) -> None:
    verdict = rules.check("代开发票")
    assert verdict.action is Action.REJECT
    assert verdict.deciding is not None
    assert verdict.deciding.matched == "代开发票"
    # text order, the longer term first when two start together
    assert [hit.matched for hit in verdict.hits] == ["代开发票", "代开", "发票"]


def test_hits_across_the_message_come_in_text_order(rules: ContentRules) -> None:
    verdict = rules.check("领取奖金请加微信，发票另开，颠覆国家政权，再领取奖金")
    assert [hit.matched for hit in verdict.hits] == ["领取奖金", "加微信", "发票", "颠覆国家政权"]
    assert verdict.action is Action.SUSPEND
    assert verdict.deciding is not None
    assert verdict.deciding.rule.category == "art15_national_security"
    assert verdict.deciding.rule.legal_category == 2


def test_latin_terms_only_match_at_a_word_start(rules: ContentRules) -> None:
    assert rules.check("Mr Sloan called").action is None
    assert rules.check("abetting").action is None
    assert _hit_terms(rules, "need a loan?") == ["loan"]
    assert _hit_terms(rules, "申请loan") == ["loan"]
    assert _hit_terms(rules, "100loan") == ["loan"]
    assert _hit_terms(rules, "loans today") == ["loan"]


def test_same_term_in_two_categories_gives_two_hits() -> None:
    rules = ContentRules(
        [
            Rule("中奖", "fraud", Action.FLAG, None),
            Rule("中奖", "lottery", Action.REVIEW, None, reject_mode="receipt", err_code=7),
            Rule("恭喜中奖", "fraud", Action.REVIEW, None),
        ]
    )
    verdict = rules.check("恭喜中奖！")
    assert [(hit.rule.category, hit.matched) for hit in verdict.hits] == [
        ("fraud", "恭喜中奖"),
        ("fraud", "中奖"),
        ("lottery", "中奖"),
    ]
    # equal severity: the earliest (then longest) hit decides
    assert verdict.deciding is not None
    assert verdict.deciding.matched == "恭喜中奖"


def test_category_overrides_and_reject_mode_reach_the_rules() -> None:
    category = Category(
        name="invoice",
        label="发票",
        legal_category=None,
        action=Action.FLAG,
        terms=("发票", "代开发票"),
        reject_mode="receipt",
        err_code=2,
        overrides=(("代开发票", Action.REJECT),),
    )
    rules = ContentRules.from_categories([category])
    verdict = rules.check("代开发票")
    assert verdict.deciding is not None
    assert verdict.deciding.rule == Rule("代开发票", "invoice", Action.REJECT, None, "receipt", 2)
    assert rules.check("发票").action is Action.FLAG


def test_action_severity_order() -> None:
    assert sorted(Action, key=lambda a: a.severity) == [Action.FLAG, Action.REVIEW, Action.REJECT, Action.SUSPEND]


def test_duplicate_spelling_in_one_category_is_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        ContentRules([Rule("发票", "invoice", Action.FLAG, None), Rule("發 票", "invoice", Action.REJECT, None)])


# --- loading errors ------------------------------------------------------------------------------


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_unknown_term_action_names_file_and_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[categories.invoice]\nlabel = "发票"\naction = "flag"\n'
        'terms = ["发票", { term = "代开发票", action = "block" }]\n',
    )
    with pytest.raises(ContentRulesError) as info:
        ContentRules.from_toml(path)
    message = str(info.value)
    assert "bad.toml" in message
    assert "categories.invoice.terms[1].action" in message
    assert "'block'" in message


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[categories.x]\naction = "deny"\nterms = ["a"]\n', "categories.x.action"),
        ('[categories.x]\nterms = ["a"]\n', "categories.x.action"),
        ('[categories.x]\naction = "flag"\nlegal_category = 10\nterms = ["a"]\n', "categories.x.legal_category"),
        ('[categories.x]\naction = "flag"\nreject_mode = "later"\nterms = ["a"]\n', "categories.x.reject_mode"),
        ('[categories.x]\naction = "flag"\nerr_code = 1000\nterms = ["a"]\n', "categories.x.err_code"),
        ('[categories.x]\naction = "flag"\nterms = []\n', "categories.x.terms"),
        ('[categories.x]\naction = "flag"\nterms = ["发票", "發票"]\n', "categories.x.terms[1]"),
        ('[categories.x]\naction = "flag"\nterms = ["*-*"]\n', "categories.x.terms[0]"),
        ('[categories.x]\naction = "flag"\nterms = [3]\n', "categories.x.terms[0]"),
        ('[categories.x]\naction = "flag"\nterm = ["a"]\n', "categories.x.term"),
        ('[categoris.x]\naction = "flag"\n', "categoris"),
    ],
)
def test_bad_fixture_names_the_key(tmp_path: Path, body: str, key: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ContentRulesError) as info:
        ContentRules.from_toml(path)
    assert f"bad.toml: {key}: " in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[categories.x\n")
    with pytest.raises(ContentRulesError, match=r"bad\.toml: invalid TOML"):
        ContentRules.from_toml(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ContentRulesError, match=r"absent\.toml: cannot read"):
        ContentRules.from_toml(tmp_path / "absent.toml")
