"""Languages: English (the source strings) and Simplified Chinese, from gettext catalogues.

Strings in code are marked `_("...")` (translated where they are used) or `N_("...")` (marked
only, translated later); `pybabel extract -k N_ bot` collects them and translators edit
`bot/locale/<lang>/LC_MESSAGES/messages.po`. The .po files are read with Babel at start-up and
compiled in memory, so there is no build step and no binary .mo file to forget.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
ALIASES = {"zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "cn": "zh", "chinese": "zh", "中文": "zh",
           "english": "en", "en-us": "en", "en_us": "en"}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here."""
    return message


def normalise(raw: str | None) -> str | None:
    """'zh', 'zh-CN', '中文' -> 'zh'; an unknown language -> None."""
    if not raw:
        return None
    key = raw.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in LANGUAGES else None


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for `lang` (English and unknown languages: the source strings)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def tr(lang: str | None) -> Callable[[str], str]:
    """`_ = tr(lang)`: the gettext function for a chat's language."""
    return translations(normalise(lang) or DEFAULT).gettext
