"""Folding applied to message texts and listed terms alike before keyword matching.

The folding defeats the usual evasions: full-width letters (ｃａｓｉｎｏ), upper case, traditional
characters (發票), and separators or filler between the characters (发*票, 发 票, C.A.S.I.N.O, zero-width
spaces, emoji).  Both sides go through the same function, so a listed term matches whatever spelling
folds to the same string.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Traditional (and a few variant) forms of the characters used in the keyword lists.  Deliberately
# small and explicit: a full converter needs phrase context, matching only needs these characters.
_TRADITIONAL = (
    "發髮発開賭貸獎帳賬戶聯係繫專個臨義樂買親會眾衆體傭黨內冊凍準兇擊則辦務動醫單賣團國聖場壞奪學寶憲對將幣佈廢"
    "彈戀擴擬據數無殺權來槍鎗標樓毀燬洩遊災點煙菸燒現盤確祕稅穩籌緊約線綫組織結給維網羣職營虛視訓訪證詆誹謠謗"
    "財貨販購資賠賺轉過運銀鏈銷門僱領頻額顛風戲戰倣還"
)
_SIMPLIFIED = (
    "发发发开赌贷奖账账户联系系专个临义乐买亲会众众体佣党内册冻准凶击则办务动医单卖团国圣场坏夺学宝宪对将币布废"
    "弹恋扩拟据数无杀权来枪枪标楼毁毁泄游灾点烟烟烧现盘确秘税稳筹紧约线线组织结给维网群职营虚视训访证诋诽谣谤"
    "财货贩购资赔赚转过运银链销门雇领频额颠风戏战仿还"
)
TRADITIONAL_TO_SIMPLIFIED: dict[int, int] = str.maketrans(_TRADITIONAL, _SIMPLIFIED)

# Unicode general categories removed as separators/filler: punctuation, symbols (incl. emoji),
# spaces, and control/format characters (incl. zero-width space/joiner, BOM).
_SEPARATOR_CATEGORIES = frozenset("PSZC")
_DROPPED_CATEGORIES = _SEPARATOR_CATEGORIES | {"M"}


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> tuple[str, bool]:
    """(folded text, is_separator) for one character of NFKD text; combining marks fold to ''."""
    category = unicodedata.category(ch)
    if category[0] in _SEPARATOR_CATEGORIES:
        return "", True
    if category[0] == "M":
        return "", False
    folded = ch.casefold()
    if folded != ch:
        # casefold can emit precomposed letters or combining marks (ᾈ -> ἀι, İ -> i + U+0307):
        # decompose again and drop the marks, so that folding twice changes nothing.
        folded = "".join(
            c for c in unicodedata.normalize("NFKD", folded) if unicodedata.category(c)[0] not in _DROPPED_CATEGORIES
        )
    return folded.translate(TRADITIONAL_TO_SIMPLIFIED), False


def _is_latin_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def normalise_with_word_starts(text: str) -> tuple[str, list[bool]]:
    """Fold ``text`` for matching and say, for each folded position, whether a latin word starts there.

    A position starts a word unless the character before it in the folded text is an ASCII letter that
    was not separated from it in the original (so "sloan" has no word start at "loan", "s loan" has).
    """
    # NFKD rather than NFKC: same compatibility folding (full-width -> ASCII), but accents come apart
    # as combining marks that _fold_char drops, so marks used as filler cannot split a term.
    decomposed = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    starts: list[bool] = []
    gap = True
    prev = ""
    for ch in decomposed:
        folded, is_separator = _fold_char(ch)
        if is_separator:
            gap = True
            continue
        for c in folded:
            starts.append(gap or not _is_latin_letter(prev))
            out.append(c)
            prev = c
            gap = False
    return "".join(out), starts


def normalise_for_matching(text: str) -> str:
    """NFKC/NFKD compatibility folding, case folding, traditional -> simplified, separators removed."""
    return normalise_with_word_starts(text)[0]


def needs_word_start(normalised_term: str) -> bool:
    """Terms starting with a latin letter only match at a word start ("loan" must not fire in "sloan")."""
    return bool(normalised_term) and _is_latin_letter(normalised_term[0])
